"""The broker connection drops mid-stream (every socket cut, reconnects refused for a while):
the consumer reconnects by itself, subscribes again, and the counts end exact. Deliveries of
the lost channel that were inserted but not acknowledged come back and are deduplicated.

A broker that is away when the service starts does not stop it: the service runs, reports not
ready, keeps trying, and consumes once the broker answers."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from services.runtime.amqp import declare_scans_topology
from services.runtime.topics import SCANS_QUEUE
from tests.service.analytics.harness import (
    Analytics,
    Client,
    Publisher,
    make_event,
    new_account,
    wait_total,
)
from tests.service.analytics.test_crash_recovery import VISITORS, publish_stream
from tests.support.backing import scratch_name, scratch_vhost
from tests.support.polling import eventually
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
            # The outage under test: 2 s of refused reconnection attempts.
            await asyncio.sleep(2.0)
            assert service.metric("qrforge_analytics_events_total") < SCANS
            proxy.restore()
            await stream

            async def all_counted() -> bool:
                return (await client.code_stats(account)).total_scans >= SCANS

            await eventually(all_counted, 40, f"{SCANS} scans after the outage")
            await asyncio.sleep(0.5)  # waiting for nothing to happen: a duplicate would show by now
            stats = await client.code_stats(account)
            assert (stats.total_scans, stats.unique_scans) == (SCANS, VISITORS)
            assert service.queue_counts()[SCANS_QUEUE] == (0, 0)
        finally:
            await client.close()
            await publisher.close()
            await asyncio.to_thread(service.stop)
            await proxy.close()


def readiness(admin_port: int) -> tuple[int, dict[str, object]]:
    """``/readyz``'s status and JSON body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=2) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def connect_failures_logged(service: Analytics) -> int:
    """How many failed broker connection attempts this run of the process has logged."""
    assert service.process is not None
    with service.process.log_path.open("rb") as log:
        log.seek(service.process.log_start)
        return log.read().count(b"broker unreachable; retrying")


async def test_a_broker_away_at_start_leaves_the_service_running_and_not_ready_until_it_answers(
    tmp_path: Path,
) -> None:
    name = scratch_name("qrforge_analytics_late")
    with scratch_vhost(name) as url:
        broker = urlsplit(url)
        proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
        port = await proxy.start()
        await proxy.cut(drain_s=0)  # every connection refused until restore()
        userinfo = broker.netloc.rsplit("@", 1)[0]
        service = Analytics(
            "analytics-late-broker-test",
            broker._replace(netloc=f"{userinfo}@127.0.0.1:{port}").geturl(),
            name,
            tmp_path / "clickhouse",
        )
        service.launch()
        publisher = await Publisher.open(url)  # straight to the broker
        client: Client | None = None
        account = new_account()
        try:

            async def retried_twice() -> bool:
                return await asyncio.to_thread(connect_failures_logged, service) >= 2

            await eventually(retried_twice, 30, "two refused broker connections")
            assert service.process is not None and service.process.process is not None
            assert service.process.process.poll() is None, "the service exited"
            status, body = await asyncio.to_thread(readiness, service.admin_port)
            assert status == 503
            assert "amqp" in str(body["failed"])

            # Published while the service cannot consume: waits in the durable queue, declared
            # the way the redirect service declares it.
            channel = await publisher.connection.channel()
            await declare_scans_topology(channel)
            await channel.close()
            day = datetime(2026, 6, 1, 9, tzinfo=UTC)
            await publisher.publish(
                [make_event(account, "qr_late", day + timedelta(seconds=n)) for n in range(30)]
            )
            proxy.restore()

            async def ready() -> bool:
                return (await asyncio.to_thread(readiness, service.admin_port))[0] == 200

            await eventually(ready, 30, "readiness once the broker answers")
            client = Client(service.address)
            await wait_total(client, account, 30)
            assert (await client.code_stats(account)).total_scans == 30
        finally:
            if client is not None:
                await client.close()
            await publisher.close()
            await asyncio.to_thread(service.stop)
            await proxy.close()
