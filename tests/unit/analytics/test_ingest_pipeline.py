"""The ingest pipeline without a broker: deliveries are plain values, settlement is recorded."""

from __future__ import annotations

import asyncio
import json
import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

from services.analytics.enriched_publisher import enriched
from services.analytics.enrichment import Enricher, ScanRow
from services.analytics.ingest_pipeline import IngestPipeline
from services.runtime.enriched_scans import decode_batch, encode_batch
from services.runtime.scan_events import ScanEvent
from tests.unit.analytics.test_enrichment import EVENT, SALT


def message(*event_ids: str) -> bytes:
    events = [
        ScanEvent(
            event_id=event_id,
            qr_id=EVENT.qr_id,
            account_id=EVENT.account_id,
            ts=datetime(2026, 3, 12, 10, 30, tzinfo=UTC),
            ip=EVENT.ip,
            user_agent=EVENT.user_agent,
            referer=EVENT.referer,
            accept_language=EVENT.accept_language,
        ).to_json()
        for event_id in event_ids
    ]
    return json.dumps({"v": 1, "events": events}).encode()


@dataclass(frozen=True)
class Delivery:
    """What a transport hands in: a tag to settle it by, and its body."""

    tag: int
    body: bytes


class RecordedSettlement:
    def __init__(self) -> None:
        self.acknowledged: list[int] = []
        self.dead_lettered: list[int] = []

    async def acknowledge_through(self, last: Delivery) -> None:
        self.acknowledged.append(last.tag)

    async def dead_letter(self, delivery: Delivery) -> None:
        self.dead_lettered.append(delivery.tag)

    def message_id(self, delivery: Delivery) -> str | None:
        return f"m{delivery.tag}"


class Store:
    """Inserts rows; refuses the first ``failures`` attempts."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.batches: list[list[str]] = []

    async def insert(self, rows: Sequence[ScanRow]) -> float:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("ClickHouse is away")
        self.batches.append([row.event_id for row in rows])
        return 0.001


def pipeline(
    store: Store, settlement: RecordedSettlement, *, max_events: int = 4
) -> IngestPipeline[Delivery]:
    return IngestPipeline(
        Enricher(SALT),
        store.insert,
        settlement,
        operator.attrgetter("body"),
        batch_max_events=max_events,
        batch_max_wait_s=30.0,
        retry_max_s=0.01,
    )


async def until(condition: object, timeout_s: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


async def test_a_full_batch_is_inserted_then_acknowledged_through_its_last_delivery() -> None:
    store, settlement = Store(), RecordedSettlement()
    ingest = pipeline(store, settlement)
    ingest.start()
    await ingest.submit(Delivery(1, message("a", "b")))
    await ingest.submit(Delivery(2, message("c", "d")))
    await until(lambda: settlement.acknowledged)
    assert store.batches == [["a", "b", "c", "d"]]
    assert settlement.acknowledged == [2]
    await ingest.drain(1.0)


async def test_a_malformed_message_is_dead_lettered_and_never_batched() -> None:
    store, settlement = Store(), RecordedSettlement()
    ingest = pipeline(store, settlement)
    ingest.start()
    await ingest.submit(Delivery(1, message("a")))
    await ingest.submit(Delivery(2, b"{not json"))
    await ingest.submit(Delivery(3, message("b")))
    assert settlement.dead_lettered == [2]
    await ingest.drain(1.0)
    assert store.batches == [["a", "b"]]
    assert settlement.acknowledged == [3]


async def test_a_refused_insert_is_retried_and_acknowledged_only_once_stored() -> None:
    store, settlement = Store(failures=3), RecordedSettlement()
    ingest = pipeline(store, settlement, max_events=1)
    ingest.start()
    await ingest.submit(Delivery(1, message("a")))
    await until(lambda: settlement.acknowledged)
    assert store.attempts == 4
    assert store.batches == [["a"]]
    assert settlement.acknowledged == [1]
    await ingest.drain(1.0)


async def test_drain_flushes_the_open_batch_and_later_deliveries_stay_unsettled() -> None:
    store, settlement = Store(), RecordedSettlement()
    ingest = pipeline(store, settlement)
    ingest.start()
    await ingest.submit(Delivery(1, message("a")))
    await ingest.drain(1.0)
    assert (store.batches, settlement.acknowledged) == ([["a"]], [1])
    await ingest.submit(Delivery(2, message("b")))
    assert (store.batches, settlement.acknowledged) == ([["a"]], [1])
    assert ingest.pending_events == 0


async def test_a_store_that_stays_away_leaves_the_batch_unacknowledged_after_the_grace() -> None:
    store, settlement = Store(failures=10**9), RecordedSettlement()
    ingest = pipeline(store, settlement)
    ingest.start()
    await ingest.submit(Delivery(1, message("a")))
    await ingest.drain(0.05)
    assert (store.batches, settlement.acknowledged) == ([], [])


async def test_a_stored_batch_is_published_enriched_before_it_is_acknowledged() -> None:
    store, settlement = Store(), RecordedSettlement()
    published: list[tuple[list[str], int]] = []  # (event ids, acks seen at publish time)
    failures = 2

    async def publish(rows: Sequence[ScanRow]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("broker is away")
        published.append(([row.event_id for row in rows], len(settlement.acknowledged)))

    ingest: IngestPipeline[Delivery] = IngestPipeline(
        Enricher(SALT),
        store.insert,
        settlement,
        operator.attrgetter("body"),
        batch_max_events=2,
        batch_max_wait_s=30.0,
        retry_max_s=0.01,
        publish=publish,
    )
    ingest.start()
    await ingest.submit(Delivery(1, message("a", "b")))
    await until(lambda: settlement.acknowledged)
    # Inserted once though the publish failed twice; published before the ack.
    assert store.batches == [["a", "b"]]
    assert published == [(["a", "b"], 0)]
    assert settlement.acknowledged == [1]
    await ingest.drain(1.0)


def test_the_enriched_scan_carries_no_ip_and_no_visitor_hash() -> None:
    row = Enricher(SALT).enrich(EVENT)
    body = encode_batch([enriched(row)])
    assert EVENT.ip.encode() not in body
    assert str(row.visitor_hash).encode() not in body
    (scan,) = decode_batch(body)
    assert (scan.event_id, scan.qr_id, scan.country, scan.device) == (
        EVENT.event_id,
        EVENT.qr_id,
        row.country,
        row.device,
    )
    assert scan.rule is None and scan.variant is None


def test_the_enriched_scan_says_which_rule_and_variant_served_it() -> None:
    row = Enricher(SALT).enrich(msgspec.structs.replace(EVENT, rule=3, variant=1))
    (scan,) = decode_batch(encode_batch([enriched(row)]))
    assert (scan.rule, scan.variant) == (3, 1)
