"""The keys service in-process (its ``serve``, as ``python -m services.keys`` runs it) on free
ports, against a throw-away Postgres database (keys migrations applied) and a scratch RabbitMQ
vhost, called over a real gRPC channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage

from qrforge.v1 import keys_pb2_grpc
from services.keys.operations import NewAccount, create_account_with_key
from services.keys.server import serve
from services.keys.settings import KeysSettings
from services.keys.storage import KeysStore
from services.runtime.grpc_client import open_channel
from services.runtime.postgres import open_pool
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE
from tests.support.backing import scratch_database, scratch_name, scratch_vhost
from tests.support.processes import free_port

PEPPER = b"service-test-pepper"
GRPC_AUTH_TOKEN = secrets.token_urlsafe(32)
FLUSH_INTERVAL_S = 0.3
DEADLINE_S = 15.0


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with scratch_database("qrforge_keys_test", migrations_of="keys") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with scratch_vhost(scratch_name("qrforge_keys_test")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, amqp_url: str) -> KeysSettings:
    return KeysSettings(
        port=free_port(),
        admin_port=free_port(),
        database_url=database_url,
        amqp_url=amqp_url,
        key_pepper=PEPPER,
        grpc_auth_token=GRPC_AUTH_TOKEN,
        log_level="INFO",
        shutdown_grace_s=1.0,
        last_used_flush_s=FLUSH_INTERVAL_S,
        publish_timeout_s=2.0,
    )


@dataclass
class RevokedEvents:
    """Messages a gateway-like consumer received on ``keys`` / ``key.revoked``."""

    queue: asyncio.Queue[dict[str, Any]]

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(5.0):
            return await self.queue.get()


@pytest_asyncio.fixture(scope="session")
async def revoked_events(amqp_url: str) -> AsyncIterator[RevokedEvents]:
    connection = await aio_pika.connect_robust(amqp_url)
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(message: AbstractIncomingMessage) -> None:
        async with message.process():
            received.put_nowait({"routing_key": message.routing_key, **json.loads(message.body)})

    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            KEYS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, KEY_REVOKED)
        await queue.consume(on_message)
        yield RevokedEvents(received)
    finally:
        await connection.close()


@dataclass
class RunningKeys:
    """``serve(settings, stop)`` running as a task of the test's event loop."""

    settings: KeysSettings
    task: asyncio.Task[None]
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.port}"

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        url = f"http://127.0.0.1:{self.settings.admin_port}/readyz"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body: dict[str, Any] = await resp.json()
            return resp.status, body

    async def wait_ready(self, *, broker: str | None = None) -> dict[str, Any]:
        """Polls ``/readyz`` until ready (and, if given, the broker reported ``up``/``down``)."""
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        while True:
            assert not self.task.done(), self.task
            with contextlib.suppress(aiohttp.ClientError):
                status, body = await self.readyz()
                if status == 200 and (broker is None or body["dependencies"]["rabbitmq"] == broker):
                    return body
            assert asyncio.get_running_loop().time() < deadline, "keys never became ready"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop it as SIGTERM would; raises whatever ``serve`` raised."""
        self.stop.set()
        await asyncio.wait_for(self.task, DEADLINE_S)


@contextlib.asynccontextmanager
async def running_keys(settings: KeysSettings) -> AsyncIterator[RunningKeys]:
    stop = asyncio.Event()
    running = RunningKeys(settings, asyncio.create_task(serve(settings, stop)), stop)
    try:
        yield running
    finally:
        await running.close()


@pytest_asyncio.fixture(scope="session")
async def keys_app(
    settings: KeysSettings, revoked_events: RevokedEvents
) -> AsyncIterator[RunningKeys]:
    # Depends on revoked_events so the consumer's queue is bound before any revocation happens,
    # and waits for the broker connection (made in the background) so revocations are published.
    async with running_keys(settings) as running:
        await running.wait_ready(broker="up")
        yield running


@pytest_asyncio.fixture(scope="session")
async def stub(keys_app: RunningKeys) -> AsyncIterator[keys_pb2_grpc.KeysServiceAsyncStub]:
    channel = open_channel(keys_app.address, auth_token=GRPC_AUTH_TOKEN)
    try:
        yield keys_pb2_grpc.KeysServiceStub(channel)
    finally:
        await channel.close()


@pytest_asyncio.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    db = await open_pool(database_url, max_size=2)
    try:
        yield db
    finally:
        await db.close()


@dataclass
class Accounts:
    """Creates accounts the way the admin CLI does (account + first read/write key)."""

    store: KeysStore

    async def create(self, name: str = "Acme", plan: str = "starter") -> NewAccount:
        return await create_account_with_key(self.store, pepper=PEPPER, name=name, plan=plan)


@pytest.fixture
def accounts(pool: asyncpg.Pool) -> Accounts:
    return Accounts(KeysStore(pool))
