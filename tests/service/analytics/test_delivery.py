"""Delivery guarantees on the shared process: redelivered batches never double count,
malformed messages end in the dead-letter queue without blocking the rest, and a store that
refuses writes keeps everything unacked until it recovers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from services.runtime.topics import SCANS_DEAD_LETTER_QUEUE, SCANS_QUEUE
from tests.service.analytics.harness import (
    Analytics,
    Client,
    Publisher,
    make_event,
    new_account,
    wait_total,
)
from tests.support.polling import eventually
from tests.unit.runtime.test_user_agents import IPHONE_SAFARI

DAY = datetime(2026, 4, 2, 8, tzinfo=UTC)


async def test_the_same_batch_twice_counts_once(publisher: Publisher, client: Client) -> None:
    account = new_account()
    events = [
        make_event(account, "qr_dup", DAY + timedelta(seconds=n), ip=f"8.8.{n % 5}.1")
        for n in range(40)
    ]
    await publisher.publish(events)
    await wait_total(client, account, 40)
    # Same event ids again, once as the same messages and once regrouped differently.
    await publisher.publish(events)
    await publisher.publish(events[::-1], per_message=7)
    marker = make_event(account, "qr_marker", DAY)
    await publisher.publish([marker])
    await wait_total(client, account, 41)
    stats = await client.code_stats(account, "qr_dup")
    assert (stats.total_scans, stats.unique_scans) == (40, 5)
    series = await client.series(
        account, "day", qr_id="qr_dup", from_date="2026-04-02", to_date="2026-04-02"
    )
    assert series == [("2026-04-02T00:00:00Z", 40, 5)]
    assert [(r[0], r[1]) for r in await client.breakdown(account, "country", qr_id="qr_dup")] == [
        ("US", 40)
    ]


async def test_malformed_messages_are_dead_lettered_and_the_rest_counted(
    analytics: Analytics, publisher: Publisher, client: Client
) -> None:
    account = new_account()
    dead_before = await publisher.queue_depth(SCANS_DEAD_LETTER_QUEUE)
    good = [make_event(account, "qr_dlq", DAY + timedelta(minutes=n)) for n in range(20)]
    bad_event = make_event(account, "qr_dlq", DAY).to_json() | {"ts": "not a time"}
    await publisher.publish(good[:10])
    await publisher.publish_raw(b"{not json")
    await publisher.publish_raw(json.dumps({"v": 99, "events": []}).encode())
    await publisher.publish_raw(json.dumps({"v": 1, "events": [bad_event]}).encode())
    await publisher.publish(good[10:])
    await wait_total(client, account, 20)

    async def dead_lettered() -> bool:
        return await publisher.queue_depth(SCANS_DEAD_LETTER_QUEUE) == dead_before + 3

    await eventually(dead_lettered, 10, "3 messages in the dead-letter queue")
    # Waiting for something not to happen: a bad message counted anyway would show by now.
    await asyncio.sleep(0.3)
    assert (await client.code_stats(account, "qr_dlq")).total_scans == 20
    assert await publisher.queue_depth(SCANS_QUEUE) == 0
    assert analytics.metric('qrforge_analytics_dead_letters_total{reason="invalid_json"}') >= 1


async def test_refused_inserts_ack_nothing_lose_nothing_and_drain(
    analytics: Analytics, publisher: Publisher, client: Client
) -> None:
    account = new_account()
    events = [
        make_event(
            account,
            "qr_fault",
            DAY + timedelta(seconds=n),
            ip=f"81.2.69.{n % 7 + 1}",
            user_agent=IPHONE_SAFARI,
        )
        for n in range(200)
    ]
    retried_before = analytics.metric('qrforge_analytics_events_total{outcome="retried"}')
    dead_before = await publisher.queue_depth(SCANS_DEAD_LETTER_QUEUE)
    fault_file = analytics.fault_file
    assert fault_file is not None, "the shared service refuses inserts on demand"
    fault_file.touch()
    try:
        await publisher.publish(events[:100])

        async def retrying() -> bool:
            return (
                analytics.metric('qrforge_analytics_events_total{outcome="retried"}')
                > retried_before
            )

        await eventually(retrying, 10, "a failed insert")
        await publisher.publish(events[100:])

        async def all_held() -> tuple[int, int] | None:
            ready, unacked = analytics.queue_counts()[SCANS_QUEUE]
            return (ready, unacked) if ready + unacked == 20 and unacked >= 10 else None

        await eventually(all_held, 10, "20 messages queued, 10 or more held by the consumer")
        # Nothing stored, nothing acked: every message is held by the consumer, none lost.
        assert (await client.code_stats(account)).total_scans == 0
        assert await publisher.queue_depth(SCANS_DEAD_LETTER_QUEUE) == dead_before
    finally:
        fault_file.unlink(missing_ok=True)
    await wait_total(client, account, 200)
    stats = await client.code_stats(account)
    assert (stats.total_scans, stats.unique_scans) == (200, 7)

    async def drained() -> bool:
        return analytics.queue_counts()[SCANS_QUEUE] == (0, 0)

    await eventually(drained, 10, "an empty queue")
