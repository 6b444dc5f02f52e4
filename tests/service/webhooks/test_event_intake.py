"""The intake on a throw-away database: messages arriving together share inserts, and each is
acknowledged only with its own deliveries stored and handed to the dispatcher; a redelivered
message makes none again."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime
from typing import Any, cast

from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import REGISTRY

from services.runtime.enriched_scans import (
    ENRICHED_SCANS_EXCHANGE,
    SCAN_ENRICHED,
    EnrichedScan,
    encode_batch,
)
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoint_directory import EndpointDirectory
from services.webhooks.endpoint_secrets import SecretBox
from services.webhooks.event_intake import EventIntake
from services.webhooks.records import ClaimedDelivery
from services.webhooks.storage import WebhookStore

BOX = SecretBox(os.urandom(32))
MESSAGES = 40
SCANS_PER_MESSAGE = 3


class Message:
    """What the intake reads of a broker message, and whether it was acknowledged."""

    def __init__(self, scans: list[EnrichedScan]) -> None:
        self.exchange = ENRICHED_SCANS_EXCHANGE
        self.routing_key = SCAN_ENRICHED
        self.body = encode_batch(scans)
        self.acked = 0

    async def ack(self) -> None:
        self.acked += 1

    async def reject(self, requeue: bool) -> None:
        raise AssertionError("a well-formed message was rejected")


class Submitted:
    def __init__(self) -> None:
        self.calls: list[list[ClaimedDelivery]] = []

    def submit(self, deliveries: list[ClaimedDelivery]) -> None:
        self.calls.append(deliveries)


def _message_of(delivery: ClaimedDelivery) -> int:
    found = re.search(rb'"qr_m(\d+)s', delivery.payload)
    assert found is not None
    return int(found.group(1))


def _inserts() -> float:
    labels = {"batch": "webhook_deliveries"}
    return REGISTRY.get_sample_value("qrforge_coalesced_batch_size_count", labels) or 0.0


async def test_messages_arriving_together_share_inserts_and_each_gets_its_own(pool: Any) -> None:
    store = WebhookStore(pool)
    for webhook_id, qr_ids in (("wh_all", []), ("wh_one", ["qr_m0s0"])):
        created = await store.insert_webhook(
            webhook_id, "acc_in", "https://example.com/h", ["scan.created"], qr_ids, "",
            BOX.seal("whsec_x", webhook_id), 20,
        )  # fmt: skip
        assert created is not None
    dispatcher = Submitted()
    intake = EventIntake(
        "amqp://unused/",
        store,
        EndpointDirectory(store, 60.0),
        cast(Dispatcher, dispatcher),
        prefetch_count=MESSAGES,
        lease_s=60.0,
    )
    now = datetime.now(UTC)
    messages = [
        Message(
            [
                EnrichedScan(
                    event_id=f"evt_m{m}s{s}",
                    account_id="acc_in",
                    qr_id=f"qr_m{m}s{s}",
                    scanned_at=now,
                )
                for s in range(SCANS_PER_MESSAGE)
            ]
        )
        for m in range(MESSAGES)
    ]
    inserts_before = _inserts()
    await asyncio.gather(*(intake._on_message(cast(AbstractIncomingMessage, m)) for m in messages))
    assert all(m.acked == 1 for m in messages)
    assert 0 < _inserts() - inserts_before < MESSAGES  # shared, not one each
    # Each message handed over exactly the deliveries of its own scans.
    handed: dict[int, list[str]] = {}
    for delivered in dispatcher.calls:
        owners = {_message_of(d) for d in delivered}
        assert len(owners) == 1
        handed[owners.pop()] = sorted(d.webhook_id for d in delivered)
    assert handed == {
        m: ["wh_all"] * SCANS_PER_MESSAGE + (["wh_one"] if m == 0 else []) for m in range(MESSAGES)
    }
    stored = await pool.fetchval("SELECT count(*) FROM webhook_deliveries")
    assert stored == MESSAGES * SCANS_PER_MESSAGE + 1

    # The broker redelivers them all (an ack was lost): acknowledged, nothing new stored.
    dispatcher.calls.clear()
    await asyncio.gather(*(intake._on_message(cast(AbstractIncomingMessage, m)) for m in messages))
    assert all(m.acked == 2 for m in messages)
    assert dispatcher.calls == [[]] * MESSAGES
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == stored
