"""The gateway in-process: the real aiohttp app of ``create_app`` on a test server, on a
throw-away Postgres database (gateway migrations applied) and a scratch RabbitMQ vhost, with
scripted render, keys and analytics services (:mod:`.fakes`) behind real gRPC.

One gateway serves the session (``api``); each test has its own account (a fresh key the fake
keys service knows), so tests never see each other's codes. ``start_gateway`` runs another
gateway with changed settings (a backend address nobody listens on, short timeouts).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.service.gateway.fakes import FakeBackends
from tests.support.api_client import ApiClient
from tests.support.backing import scratch_database, scratch_name, scratch_vhost
from tests.support.processes import free_port
from tests.support.stack import ApiAccount

GRPC_AUTH_TOKEN = secrets.token_urlsafe(32)
REDIRECT_BASE_URL = "https://qr.example.test"

StartGateway = Callable[..., Awaitable[ApiClient]]


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with scratch_database("qrforge_gateway_test", migrations_of="gateway") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with scratch_vhost(scratch_name("qrforge_gateway_test")) as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def backends() -> AsyncIterator[FakeBackends]:
    fakes = await FakeBackends.start(GRPC_AUTH_TOKEN)
    try:
        yield fakes
    finally:
        await fakes.stop()


@pytest.fixture(autouse=True)
def _fresh_backends(backends: FakeBackends) -> None:
    backends.reset()


@pytest.fixture(scope="session")
def gateway_env(database_url: str, amqp_url: str, backends: FakeBackends) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "RENDER_ADDR": backends.address,
        "KEYS_ADDR": backends.address,
        "ANALYTICS_ADDR": backends.address,
        "GRPC_AUTH_TOKEN": GRPC_AUTH_TOKEN,
        "PUBLIC_BASE_URL": "https://api.example.test",
        "REDIRECT_BASE_URL": REDIRECT_BASE_URL,
        "RENDER_TIMEOUT_S": "2",
        "RPC_TIMEOUT_S": "1",
        # Every test calls from 127.0.0.1: per-address limits would make them fail one another.
        "AUTH_FAILURES_PER_MIN": "100000",
        "PUBLIC_IMAGE_REQUESTS_PER_MIN": "100000",
        "LOG_LEVEL": "WARNING",
    }


async def _serve(env: dict[str, str], stack: AsyncExitStack) -> ApiClient:
    server = TestServer(create_app(GatewaySettings.from_env(env)), host="127.0.0.1")
    await server.start_server()
    stack.push_async_callback(server.close)
    http = aiohttp.ClientSession()
    stack.push_async_callback(http.close)
    return ApiClient(http, str(server.make_url("")))


@pytest_asyncio.fixture(scope="session")
async def gateway(gateway_env: dict[str, str]) -> AsyncIterator[ApiClient]:
    """The session's gateway, called without a key (see ``api`` for a caller with one)."""
    async with AsyncExitStack() as stack:
        yield await _serve(gateway_env, stack)


@pytest_asyncio.fixture
async def start_gateway(gateway_env: dict[str, str]) -> AsyncIterator[StartGateway]:
    """``await start_gateway(RENDER_ADDR=…)``: another gateway, closed after the test."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: str) -> ApiClient:
            return await _serve({**gateway_env, **overrides}, stack)

        yield start


def new_account(backends: FakeBackends, **key_options: object) -> ApiAccount:
    """A fresh account with one key the fake keys service knows."""
    account = ApiAccount(f"acct_{secrets.token_hex(8)}", f"sk_test_{secrets.token_urlsafe(24)}")
    backends.keys.add_key(account.api_key, account.account_id, **key_options)  # type: ignore[arg-type]
    return account


@pytest.fixture
def account(backends: FakeBackends) -> ApiAccount:
    return new_account(backends)


@pytest.fixture
def api(gateway: ApiClient, account: ApiAccount) -> ApiClient:
    """The session's gateway, called with this test's own account."""
    return gateway.as_account(account)


def dead_address() -> str:
    """An address nothing listens on: a backend that is down."""
    return f"127.0.0.1:{free_port()}"
