"""The redirect service as a real subprocess on free ports, against a throw-away Postgres
database (gateway migrations: the catalog tables it reads) and a scratch RabbitMQ vhost.

Rows are inserted with SQL; scan events are read from test queues bound to ``scans`` with
``#``; catalog events are published the way the gateway does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from services.runtime.amqp import declare_topic_exchange, event_message
from services.runtime.ids import BASE62, new_id
from services.runtime.migrations import apply_migrations, discover
from services.runtime.passwords import hash_password
from services.runtime.scan_events import SCAN_EVENT_VERSION
from services.runtime.topics import CATALOG_EXCHANGE, SCANS_EXCHANGE
from tests.support.backing import create_database, scratch_database, scratch_name, scratch_vhost
from tests.support.processes import ServiceProcess, free_port

ACCOUNT = "acc_redirect_test"


async def migrated_database(name: str) -> str:
    dsn = await create_database(name)
    # Only the catalog's migrations: other services' folders may hold work in progress.
    await apply_migrations(dsn, [m for m in discover() if m.service == "gateway"])
    return dsn


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with scratch_database("qrforge_redirect_test", migrations_of="gateway") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with scratch_vhost(scratch_name("qrforge_redirect_test")) as url:
        yield url


def random_code(length: int = 8) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


@dataclass(frozen=True)
class Code:
    qr_id: str
    short_code: str
    destination_url: str


class Codes:
    """Inserts dynamic rows the way the gateway stores them."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(
        self,
        destination_url: str = "https://example.com/landing?a=1&b=2",
        *,
        password: str | None = None,
        expires_at: datetime | None = None,
        max_scans: int = 0,
        scan_count: int = 0,
        active: bool = True,
    ) -> Code:
        qr_id, short_code = new_id("qr"), random_code()
        await self.pool.execute(
            """INSERT INTO qr_codes (qr_id, account_id, kind, qr_type, content, payload, format,
                   size, error_correction, quiet_zone, design, version, short_code,
                   destination_url, password_hash, expires_at, max_scans, scan_count, active)
               VALUES ($1, $2, 'dynamic', 'url', '{}'::jsonb, 'x', 'png', 512, 'M', 4,
                   '{}'::jsonb, 1, $3, $4, $5, $6, $7, $8, $9)""",
            qr_id,
            ACCOUNT,
            short_code,
            destination_url,
            hash_password(password) if password is not None else None,
            expires_at,
            max_scans,
            scan_count,
            active,
        )
        return Code(qr_id, short_code, destination_url)


@pytest_asyncio.fixture(scope="session")
async def codes(database_url: str) -> AsyncIterator[Codes]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield Codes(pool)
    finally:
        await pool.close()


@dataclass
class ScanTap:
    """A queue bound to ``scans`` with ``#``: every event any redirect published since."""

    queue: AbstractQueue
    events: list[dict[str, Any]] = field(default_factory=list)

    async def _drain(self) -> None:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            body = json.loads(message.body)
            assert body["v"] == SCAN_EVENT_VERSION
            self.events.extend(body["events"])

    def of(self, qr_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["qr_id"] == qr_id]

    async def wait_for(
        self, qr_id: str, count: int, timeout_s: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` events of ``qr_id`` arrived, then a little longer for extras."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.of(qr_id)) < count and loop.time() < deadline:
            await self._drain()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await self._drain()
        return self.of(qr_id)


class Broker:
    def __init__(self, connection: AbstractConnection, channel: AbstractChannel) -> None:
        self.connection = connection
        self.channel = channel

    async def tap(self) -> ScanTap:
        exchange = await declare_topic_exchange(self.channel, SCANS_EXCHANGE)
        queue = await self.channel.declare_queue(f"test.scans.{secrets.token_hex(4)}")
        await queue.bind(exchange, routing_key="#")
        return ScanTap(queue)

    async def publish_catalog(self, routing_key: str, code: Code) -> None:
        exchange = await declare_topic_exchange(self.channel, CATALOG_EXCHANGE)
        message = event_message({"qr_id": code.qr_id, "short_code": code.short_code})
        await exchange.publish(message, routing_key=routing_key)


@pytest_asyncio.fixture(scope="session")
async def broker(amqp_url: str) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    try:
        yield Broker(connection, channel)
    finally:
        await connection.close()


@dataclass
class Redirect:
    """One redirect process; ``restart`` keeps its ports and spool."""

    process: ServiceProcess
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process.start()
        await asyncio.to_thread(self.process.wait_ready)

    async def stop(self) -> int | None:
        return await asyncio.to_thread(self.process.stop)

    def readyz(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.process.admin_port}/readyz"
        with urllib.request.urlopen(url, timeout=5) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data


def make_redirect(
    name: str, database_url: str, amqp_url: str, spool_dir: Path, **extra: str
) -> Redirect:
    port, admin_port = free_port(), free_port()
    env = {
        "REDIRECT_PORT": str(port),
        "REDIRECT_ADMIN_PORT": str(admin_port),
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "SPOOL_DIR": str(spool_dir),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "SHUTDOWN_GRACE_S": "3",
        "LOG_LEVEL": "INFO",
        **extra,
    }
    return Redirect(ServiceProcess(name, "services.redirect", env, admin_port), port)


@pytest_asyncio.fixture(scope="session")
async def redirect(
    database_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Redirect]:
    service = make_redirect(
        "redirect-a", database_url, amqp_url, tmp_path_factory.mktemp("spool-a")
    )
    await service.start()
    try:
        yield service
    finally:
        assert await service.stop() == 0


@pytest_asyncio.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
