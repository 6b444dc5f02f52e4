"""The keys service in-process on a free port, against a throw-away Postgres database (keys
migrations applied) and a scratch RabbitMQ vhost, called over a real gRPC channel."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage

from qrforge.v1 import keys_pb2_grpc
from services.keys.operations import NewAccount, create_account_with_key
from services.keys.server import KeysApp
from services.keys.settings import KeysSettings
from services.keys.storage import KeysStore
from services.runtime.grpc_client import open_channel
from services.runtime.migrations import apply_migrations, discover
from services.runtime.postgres import open_pool
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost

PEPPER = b"service-test-pepper"
GRPC_AUTH_TOKEN = secrets.token_urlsafe(32)
FLUSH_INTERVAL_S = 0.3


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = scratch_name("qrforge_keys_test")
    dsn = await create_database(name)
    try:
        # Only our own migrations: other services' folders may hold work in progress.
        await apply_migrations(dsn, [m for m in discover() if m.service == "keys"])
        yield dsn
    finally:
        await drop_database(name)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with scratch_vhost(scratch_name("qrforge_keys_test")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, amqp_url: str) -> KeysSettings:
    return KeysSettings(
        port=0,
        admin_port=0,
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


@pytest_asyncio.fixture(scope="session")
async def keys_app(settings: KeysSettings, revoked_events: RevokedEvents) -> AsyncIterator[KeysApp]:
    # Depends on revoked_events so the consumer's queue is bound before any revocation happens.
    app = KeysApp(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest_asyncio.fixture(scope="session")
async def stub(keys_app: KeysApp) -> AsyncIterator[keys_pb2_grpc.KeysServiceAsyncStub]:
    channel = open_channel(f"127.0.0.1:{keys_app.grpc_port}", auth_token=GRPC_AUTH_TOKEN)
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
