"""Catalog events across replicas, Postgres loss, and the broker fault-injection run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from services.runtime.topics import CODE_DELETED, CODE_UPDATED
from tests.service.redirect.conftest import (
    Broker,
    Codes,
    Redirect,
    make_redirect,
    migrated_database,
    random_code,
)
from tests.support.backing import AMQP_HOST, drop_database, scratch_name
from tests.support.polling import eventually
from tests.support.tcp_proxy import TcpProxy

# Scans each phase of the fault run sees (about a second's worth on an idle machine).
SCANS_PER_PHASE = 100


async def location(http: aiohttp.ClientSession, url: str) -> tuple[int, str | None]:
    async with http.get(url, allow_redirects=False) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Location")


async def test_destination_change_reaches_a_second_replica_within_1s(
    redirect: Redirect,
    codes: Codes,
    broker: Broker,
    http: aiohttp.ClientSession,
    database_url: str,
    amqp_url: str,
    tmp_path: Path,
) -> None:
    second = make_redirect("redirect-b", database_url, amqp_url, tmp_path / "spool")
    await second.start()
    try:
        code = await codes.insert("https://example.com/before")
        for service in (redirect, second):  # both replicas have it cached
            assert await location(http, f"{service.base_url}/{code.short_code}") == (
                302,
                "https://example.com/before",
            )

        await codes.pool.execute(
            "UPDATE qr_codes SET destination_url = $2, updated_at = now() WHERE qr_id = $1",
            code.qr_id,
            "https://example.com/after",
        )
        await broker.publish_catalog(CODE_UPDATED, code)
        url = f"{second.base_url}/{code.short_code}"

        async def repointed() -> bool:
            return (await location(http, url))[1] == "https://example.com/after"

        await eventually(repointed, 1.0, "the second replica serving the new URL", 0.02)

        await codes.pool.execute(
            "UPDATE qr_codes SET deleted_at = now() WHERE qr_id = $1", code.qr_id
        )
        await broker.publish_catalog(CODE_DELETED, code)

        async def gone() -> bool:
            return (await location(http, url))[0] == 404

        await eventually(gone, 1.0, "the deleted code no longer redirecting", 0.02)
    finally:
        assert await second.stop() == 0


async def test_cached_code_keeps_redirecting_without_postgres(
    amqp_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    name = scratch_name("qrforge_redirect_dropped")
    dsn = await migrated_database(name)
    dropped = False
    service = make_redirect(
        "redirect-nodb", dsn, amqp_url, tmp_path / "spool", REDIRECT_CACHE_TTL_S="0.2"
    )
    try:
        code = random_code()
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            """INSERT INTO qr_codes (qr_id, account_id, kind, qr_type, content, payload, format,
                   size, error_correction, quiet_zone, design, version, short_code,
                   destination_url)
               VALUES ('qr_nodb', 'acc_1', 'dynamic', 'url', '{}'::jsonb, 'x', 'png', 512, 'M',
                   4, '{}'::jsonb, 1, $1, 'https://example.com/still-here')""",
            code,
        )
        await conn.close()
        await service.start()
        url = f"{service.base_url}/{code}"
        assert await location(http, url) == (302, "https://example.com/still-here")

        await drop_database(name)  # WITH (FORCE): the service's connections are terminated
        dropped = True
        await asyncio.sleep(0.3)  # the thing under test: the TTL passes, the stale entry is served
        for _ in range(3):
            assert await location(http, url) == (302, "https://example.com/still-here")
        # Not cached and no database: a 503 page, not a wrong 404.
        assert (await location(http, f"{service.base_url}/{random_code()}"))[0] == 503
        ready = await asyncio.to_thread(service.readyz)
        assert ready["status"] == "ready"
        assert ready["dependencies"]["postgres"] == "down"
    finally:
        assert await service.stop() == 0
        if not dropped:
            await drop_database(name)


async def test_exactly_one_event_per_302_through_broker_cuts_and_restarts(
    codes: Codes, broker: Broker, amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    tap = await broker.tap()
    code = await codes.insert("https://example.com/faults")
    host, _, port = AMQP_HOST.partition(":")
    proxy = TcpProxy(host, int(port))
    proxy_port = await proxy.start()
    vhost = amqp_url.rsplit("/", 1)[1]
    service = make_redirect(
        "redirect-faults",
        database_url,
        f"amqp://guest:guest@127.0.0.1:{proxy_port}/{vhost}",
        tmp_path / "spool",
    )
    await service.start()
    served = 0
    stop = asyncio.Event()

    async def scan_continuously() -> None:
        nonlocal served
        # A fresh connection per scan: no keep-alive races with a process being restarted.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as client:
            while not stop.is_set():
                try:
                    status, _ = await location(client, f"{service.base_url}/{code.short_code}")
                except aiohttp.ClientError:
                    status = 0
                if status == 302:
                    served += 1
                await asyncio.sleep(0.005)  # pacing the phone, not waiting for anything

    async def scans_served(more: int) -> None:
        """Let each phase of the run see ``more`` scans, however slow the machine is."""
        target = served + more

        async def reached() -> bool:
            return served >= target

        await eventually(reached, 30, f"{target} scans served", 0.02)

    drivers = [asyncio.create_task(scan_continuously()) for _ in range(4)]
    try:
        await scans_served(SCANS_PER_PHASE)
        await proxy.cut()  # broker unreachable: events go to the spool
        await scans_served(SCANS_PER_PHASE)
        assert await service.stop() == 0  # SIGTERM while the broker is away
        await service.start()
        await scans_served(SCANS_PER_PHASE)
        proxy.restore()  # replay in order, then live publishing
        await scans_served(SCANS_PER_PHASE)
        assert await service.stop() == 0  # SIGTERM while healthy (or still replaying)
        await service.start()
        await scans_served(SCANS_PER_PHASE)
    finally:
        stop.set()
        await asyncio.gather(*drivers)

    try:
        events = await tap.wait_for(code.qr_id, served, timeout_s=20.0)
        ids = [e["event_id"] for e in events]
        assert served > 100
        assert len(set(ids)) == len(ids), "duplicate events"
        assert len(events) == served
        ready = await asyncio.to_thread(service.readyz)
        assert ready["spool_events"] == 0 and ready["buffer_events"] == 0
    finally:
        assert await service.stop() == 0
        await proxy.close()
