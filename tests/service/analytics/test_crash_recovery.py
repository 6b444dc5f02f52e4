"""Killing the process mid-stream (SIGKILL: no flush, no ack) or stopping it (SIGTERM: flush,
ack, close) while scans keep arriving, then restarting it: the counts end exact, with no loss
and no double count. This test owns its process, data directory and vhost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.runtime.topics import SCANS_QUEUE
from tests.service.analytics.harness import (
    Analytics,
    Client,
    Publisher,
    make_event,
    new_account,
)
from tests.support.backing import scratch_name, scratch_vhost
from tests.support.polling import eventually

START = datetime(2026, 5, 4, 6, tzinfo=UTC)
VISITORS = 500


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[Analytics]:
    name = scratch_name("qrforge_analytics_crash")
    with scratch_vhost(name) as url:
        service = Analytics("analytics-crash-test", url, name, tmp_path / "clickhouse")
        try:
            yield service
        finally:
            service.stop()


async def publish_stream(publisher: Publisher, account: str, first: int, count: int) -> None:
    """``count`` scans as 10-event messages, paced so the consumer is busy while it runs."""
    events = [
        make_event(
            account,
            f"qr_{n % 3}",
            START + timedelta(milliseconds=n),
            ip=f"8.8.{n % VISITORS // 250}.{n % 250}",
        )
        for n in range(first, first + count)
    ]
    for start in range(0, count, 500):
        await publisher.publish(events[start : start + 500])
        await asyncio.sleep(0.02)  # pacing, not waiting: the stream outlasts the consumer's batches


async def test_kill_and_stop_mid_stream_then_restart_counts_exactly(own_service: Analytics) -> None:
    account = new_account()
    own_service.start()
    publisher = await Publisher.open(own_service.amqp_url)
    client = Client(own_service.address)
    try:
        # Phase 1: SIGKILL while batches are being inserted and acked.
        stream = asyncio.create_task(publish_stream(publisher, account, 0, 20_000))

        async def some_counted() -> bool:
            return (await client.code_stats(account)).total_scans > 0

        await eventually(some_counted, 20, "the first inserts")
        own_service.kill()
        await client.close()
        await stream
        own_service.start()
        client = Client(own_service.address)

        # Phase 2: SIGTERM while more arrive: the open batch is flushed and acked.
        stream = asyncio.create_task(publish_stream(publisher, account, 20_000, 10_000))

        async def consuming() -> bool:
            return own_service.metric("qrforge_analytics_events_total") > 0

        await eventually(consuming, 20, "the restarted service at work")
        assert own_service.stop() == 0
        await client.close()
        await stream
        own_service.start()
        client = Client(own_service.address)

        async def all_counted() -> bool:
            return (await client.code_stats(account)).total_scans >= 30_000

        await eventually(all_counted, 30, "30,000 scans")
        await asyncio.sleep(0.5)  # waiting for nothing to happen: a duplicate would show by now
        stats = await client.code_stats(account)
        assert (stats.total_scans, stats.unique_scans) == (30_000, VISITORS)
        per_code = [(await client.code_stats(account, f"qr_{n}")).total_scans for n in range(3)]
        assert per_code == [10_000, 10_000, 10_000]
        assert own_service.queue_counts()[SCANS_QUEUE] == (0, 0)
    finally:
        await client.close()
        await publisher.close()
