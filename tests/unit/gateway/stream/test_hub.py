"""The fan-out hub: each stream gets the scans of its account (and of its code, when it named
one) in order, never another account's; the per-account cap; a stream that falls too far
behind is cut off with its backlog counted as dropped; closing ends every stream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from services.gateway.stream import sse
from services.gateway.stream.hub import (
    CLIENT_GONE,
    SHUTDOWN,
    SLOW_CLIENT,
    ScanStreamHub,
    StreamLimitError,
)
from services.runtime.enriched_scans import EnrichedScan


def scan(n: int, account_id: str = "acc_a", qr_id: str = "qr_1") -> EnrichedScan:
    return EnrichedScan(
        event_id=f"evt{n}",
        account_id=account_id,
        qr_id=qr_id,
        scanned_at=datetime(2026, 3, 12, 10, 30, n % 60, tzinfo=UTC),
    )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_each_stream_gets_its_accounts_scans_in_order_and_no_others() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    mine = hub.subscribe("acc_a", None)
    theirs = hub.subscribe("acc_b", None)
    hub.publish([scan(1), scan(2, "acc_b"), scan(3)])
    hub.publish([scan(4)])
    assert await mine.next_batch(1) == (
        sse.scan_event(scan(1)) + sse.scan_event(scan(3)) + sse.scan_event(scan(4)),
        3,
    )
    assert await theirs.next_batch(1) == (sse.scan_event(scan(2, "acc_b")), 1)


async def test_a_code_stream_gets_that_codes_scans_only() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    one_code = hub.subscribe("acc_a", "qr_2")
    every_code = hub.subscribe("acc_a", None)
    hub.publish([scan(1, qr_id="qr_1"), scan(2, qr_id="qr_2")])
    hub.publish([scan(3, qr_id="qr_1")])  # nothing for one_code: not woken by it
    assert await one_code.next_batch(1) == (sse.scan_event(scan(2, qr_id="qr_2")), 1)
    assert (await every_code.next_batch(1))[1] == 3


async def test_streams_of_one_account_share_each_batch() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    first, second = hub.subscribe("acc_a", None), hub.subscribe("acc_a", None)
    hub.publish([scan(1), scan(2)])
    assert (await first.next_batch(1))[0] is (await second.next_batch(1))[0]


async def test_waiting_with_nothing_queued_times_out_empty() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    assert await hub.subscribe("acc_a", None).next_batch(0.01) == (b"", 0)


async def test_a_waiting_stream_wakes_when_its_scan_arrives() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    stream = hub.subscribe("acc_a", None)
    waiting = asyncio.create_task(stream.next_batch(10))
    await asyncio.sleep(0)
    hub.publish([scan(1)])
    assert await asyncio.wait_for(waiting, 1) == (sse.scan_event(scan(1)), 1)


async def test_the_cap_is_per_account_and_a_closed_stream_frees_its_slot() -> None:
    hub = ScanStreamHub(max_per_account=2, queue_events=100)
    refused_before = metric("qrforge_gateway_scan_streams_refused_total")
    first = hub.subscribe("acc_a", None)
    hub.subscribe("acc_a", "qr_1")
    with pytest.raises(StreamLimitError) as refused:
        hub.subscribe("acc_a", None)
    assert refused.value.max_streams == 2
    assert metric("qrforge_gateway_scan_streams_refused_total") == refused_before + 1
    hub.subscribe("acc_b", None)  # another account's streams are not counted
    hub.unsubscribe(first, CLIENT_GONE)
    hub.subscribe("acc_a", None)
    assert hub.open_streams == 3


async def test_a_stream_that_falls_behind_is_cut_off_and_its_backlog_counted() -> None:
    aborted: list[bool] = []
    hub = ScanStreamHub(max_per_account=10, queue_events=3)
    slow = hub.subscribe("acc_a", None, abort=lambda: aborted.append(True))
    fast = hub.subscribe("acc_a", None)
    dropped_before = metric("qrforge_gateway_scan_stream_events_total", outcome="dropped")
    hub.publish([scan(0), scan(1)])
    assert (await fast.next_batch(1))[1] == 2
    hub.publish([scan(2)])
    assert (await fast.next_batch(1))[1] == 1
    hub.publish([scan(3)])  # the fourth: one more than slow may have queued
    assert slow.ended == SLOW_CLIENT and aborted == [True]
    assert await slow.next_batch(1) == (b"", 0)  # nothing is kept for it
    assert metric("qrforge_gateway_scan_stream_events_total", outcome="dropped") == (
        dropped_before + 4
    )
    hub.publish([scan(4)])  # no longer queued for slow, still for fast
    assert await slow.next_batch(0.01) == (b"", 0)
    assert await fast.next_batch(1) == (sse.scan_event(scan(3)) + sse.scan_event(scan(4)), 2)
    closed_before = metric("qrforge_gateway_scan_streams_closed_total", reason=SLOW_CLIENT)
    hub.unsubscribe(slow, CLIENT_GONE)  # the handler saw its connection reset
    assert metric("qrforge_gateway_scan_streams_closed_total", reason=SLOW_CLIENT) == (
        closed_before + 1
    )


async def test_closing_ends_every_stream_and_aborts_those_that_stay_open() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    aborted: list[str] = []
    polite = hub.subscribe("acc_a", None, abort=lambda: aborted.append("polite"))
    stuck = hub.subscribe("acc_b", None, abort=lambda: aborted.append("stuck"))
    waiting = asyncio.create_task(polite.next_batch(10))

    async def polite_handler() -> None:
        await waiting
        hub.unsubscribe(polite, CLIENT_GONE)

    handler = asyncio.create_task(polite_handler())
    await hub.close(grace_s=0.2)
    await handler
    assert polite.ended == SHUTDOWN and stuck.ended == SHUTDOWN
    assert aborted == ["stuck"]
    assert hub.subscribe("acc_c", None).ended == SHUTDOWN  # too late: ends at once


async def test_closing_returns_at_once_when_every_stream_ends() -> None:
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    stream = hub.subscribe("acc_a", None)

    async def handler() -> None:
        await stream.next_batch(10)
        hub.unsubscribe(stream, CLIENT_GONE)

    task = asyncio.create_task(handler())
    loop = asyncio.get_running_loop()
    started = loop.time()
    await hub.close(grace_s=5)
    assert loop.time() - started < 1
    await task
    assert hub.open_streams == 0


def test_scans_of_accounts_without_streams_cost_no_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def counted(scan: EnrichedScan) -> bytes:
        built.append(scan.event_id)
        return b""

    monkeypatch.setattr(sse, "scan_event", counted)
    hub = ScanStreamHub(max_per_account=10, queue_events=100)
    hub.subscribe("acc_a", "qr_9")
    hub.subscribe("acc_a", "qr_9")
    hub.publish([scan(1, "acc_b"), scan(2, "acc_a", "qr_1"), scan(3, "acc_a", "qr_9")])
    assert built == ["evt3"]  # once for both streams
