"""The broker connection drops mid-stream (every socket cut, reconnects refused for a while):
the consumer reconnects by itself, subscribes again, and the counts end exact. Deliveries of
the lost channel that were inserted but not acknowledged come back and are deduplicated."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from services.runtime.topics import SCANS_QUEUE
from tests.service.analytics.harness import Analytics, Client, Publisher, eventually, new_account
from tests.service.analytics.test_crash_recovery import VISITORS, publish_stream
from tests.support.backing import scratch_name, scratch_vhost
from tests.support.tcp_proxy import TcpProxy

SCANS = 20_000


async def test_a_cut_broker_connection_loses_and_doubles_nothing(tmp_path: Path) -> None:
    name = scratch_name("qrforge_analytics_cut")
    with scratch_vhost(name) as url:
        broker = urlsplit(url)
        proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
        port = await proxy.start()
        userinfo = broker.netloc.rsplit("@", 1)[0]
        service = Analytics(
            "analytics-cut-test",
            broker._replace(netloc=f"{userinfo}@127.0.0.1:{port}").geturl(),
            name,
            tmp_path / "clickhouse",
        )
        # The proxy runs on this event loop: start the process without blocking it.
        await asyncio.to_thread(service.start)
        publisher = await Publisher.open(url)  # straight to the broker
        client = Client(service.address)
        account = new_account()
        try:
            stream = asyncio.create_task(publish_stream(publisher, account, 0, SCANS))

            async def some_counted() -> bool:
                return (await client.code_stats(account)).total_scans > 0

            await eventually(some_counted, 20, "the first inserts")
            await proxy.cut(drain_s=0)
            await asyncio.sleep(2.0)  # reconnection attempts are refused meanwhile
            assert service.metric("qrforge_analytics_events_total") < SCANS
            proxy.restore()
            await stream

            async def all_counted() -> bool:
                return (await client.code_stats(account)).total_scans >= SCANS

            await eventually(all_counted, 40, f"{SCANS} scans after the outage")
            await asyncio.sleep(0.5)
            stats = await client.code_stats(account)
            assert (stats.total_scans, stats.unique_scans) == (SCANS, VISITORS)
            assert service.queue_counts()[SCANS_QUEUE] == (0, 0)
        finally:
            await client.close()
            await publisher.close()
            await asyncio.to_thread(service.stop)
            await proxy.close()
