"""The publisher's bookkeeping against a fake broker: spool while down, replay in order once
back, exactly once, and nothing left behind on close."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

from services.redirect.broker import BrokerLink, BrokerSession
from services.redirect.publisher import ScanPublisher
from services.redirect.scan_messages import Capture, capture
from services.redirect.spool import Spool


class FakeExchange:
    def __init__(self) -> None:
        self.fail = False
        self.events: list[dict[str, Any]] = []

    async def publish(self, message: Any, routing_key: str, mandatory: bool) -> None:
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("link down")
        assert routing_key == "scan.recorded" and not mandatory
        assert message.delivery_mode == 2  # persistent
        body = json.loads(message.body)
        assert body["v"] == 2
        self.events.extend(body["events"])


class FakeBroker:
    def __init__(self) -> None:
        self.exchange = FakeExchange()
        self.session: Any = None
        self.connected = asyncio.Event()

    def up(self) -> None:
        self.session = BrokerSession(connection=cast(Any, None), scans=cast(Any, self.exchange))
        self.connected.set()

    def broken(self, session: Any) -> None:
        if self.session is session:
            self.session = None
            self.connected.clear()


def scan(i: int) -> Capture:
    return capture(1_800_000_000.0 + i, "qr_1", "acc_1", "203.0.113.1", "UA", "", "")


def new_publisher(
    broker: FakeBroker, spool: Spool, *, capacity: int, batch_max: int
) -> ScanPublisher:
    return ScanPublisher(
        cast(BrokerLink, broker),
        spool,
        capacity=capacity,
        batch_max=batch_max,
        linger_s=0.001,
        publish_timeout_s=1.0,
    )


async def wait_until(predicate: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 (polling fake state is the point)
            await asyncio.sleep(0.01)


async def test_spool_while_down_then_replay_in_order_exactly_once(tmp_path: Path) -> None:
    broker = FakeBroker()
    spool = Spool(tmp_path)
    publisher = new_publisher(broker, spool, capacity=1000, batch_max=4)
    publisher.start()
    for i in range(10):
        publisher.offer(scan(i))
    await wait_until(lambda: spool.size == 10)

    broker.up()
    broker.exchange.fail = True  # the first publish after reconnecting fails again
    await wait_until(lambda: broker.session is None)
    for i in range(10, 15):
        publisher.offer(scan(i))
    broker.exchange.fail = False
    broker.up()
    await wait_until(lambda: len(broker.exchange.events) == 15)
    await publisher.close(1.0)

    stamps = [e["ts"] for e in broker.exchange.events]
    assert stamps == sorted(stamps)
    assert len({e["event_id"] for e in broker.exchange.events}) == 15
    assert spool.size == 0
    spool.close()


async def test_close_spools_what_the_broker_did_not_take(tmp_path: Path) -> None:
    broker = FakeBroker()
    spool = Spool(tmp_path)
    publisher = new_publisher(broker, spool, capacity=1000, batch_max=100)
    publisher.start()
    for i in range(7):
        publisher.offer(scan(i))
    await publisher.close(0.5)  # the broker never came up
    assert spool.size == 7
    spool.close()
    assert Spool(tmp_path).size == 7


async def test_full_buffer_spills_to_disk_without_waiting(tmp_path: Path) -> None:
    broker = FakeBroker()
    broker.up()
    spool = Spool(tmp_path)
    publisher = new_publisher(broker, spool, capacity=5, batch_max=100)
    for i in range(12):  # the publisher task is not even running
        publisher.offer(scan(i))
    assert spool.size == 10 and publisher.buffered == 2
    publisher.start()
    await wait_until(lambda: len(broker.exchange.events) == 12)
    await publisher.close(1.0)
    stamps = [e["ts"] for e in broker.exchange.events]
    assert stamps == sorted(stamps)
    spool.close()
