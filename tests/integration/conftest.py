"""Integration fixtures: one running system per test session (all services as processes on
real Postgres and RabbitMQ), plus an HTTP client and the API client over it (``api``: the session's ``account``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from services.runtime.migrations import apply_migrations
from tests.support.api_client import ApiClient
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import ApiAccount, Stack

pytestmark = pytest.mark.integration

WEBHOOKS_TEST_ENV = {
    "WEBHOOK_ALLOWLIST": "127.0.0.1,localhost",
    "WEBHOOK_RETRY_SCHEDULE_S": "0.5,1,1,2",
    "WEBHOOK_RETRY_EVERY_S": "2",
    "WEBHOOK_POLL_S": "0.2",
    "WEBHOOK_LEASE_S": "11",
}
SECOND_SHORT_DOMAIN = "http://go.brand.test"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    name = scratch_name()
    database_url = asyncio.run(create_database(name))
    asyncio.run(apply_migrations(database_url))
    with scratch_vhost(name) as amqp_url:
        base_env = {
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "KEY_PEPPER": "integration-test-pepper",
            "LOG_LEVEL": "INFO",
            "RENDER_WORKERS": "2",
            # Every test fetches images from 127.0.0.1: the per-address limit of public images
            # would make them fail one another (its own test runs a gateway with a small one).
            "PUBLIC_IMAGE_REQUESTS_PER_MIN": "1000000",
            "SHUTDOWN_GRACE_S": "5",
            "VISITOR_SALT": "integration-test-salt",
            "VARIANT_HASH_KEY": "integration-test-variant-key",
            "CLICKHOUSE_URL": f"chdb://{tmp_path_factory.mktemp('clickhouse')}",
        }
        system = Stack(database_url, amqp_url, base_env)
        try:
            render = system.start_grpc_service(
                "render", "services.render", "RENDER_PORT", "RENDER_ADMIN_PORT", "RENDER_ADDR"
            )
            keys = system.start_grpc_service(
                "keys", "services.keys", "KEYS_PORT", "KEYS_ADMIN_PORT", "KEYS_ADDR"
            )
            analytics = system.start_grpc_service(
                "analytics",
                "services.analytics",
                "ANALYTICS_PORT",
                "ANALYTICS_ADMIN_PORT",
                "ANALYTICS_ADDR",
            )
            # Deliveries may reach receivers on this machine, and retry within seconds.
            webhooks = system.start_webhooks(WEBHOOKS_TEST_ENV)
            render.wait_ready()
            keys.wait_ready()
            redirect_port, redirect_admin = free_port(), free_port()
            system.redirect_url = f"http://127.0.0.1:{redirect_port}"
            system.addresses["REDIRECT_BASE_URL"] = system.redirect_url
            # A second short domain (API.md "Dynamic codes v1.1"), reached by sending its name
            # as Host (or X-Forwarded-Host from the trusted proxy) to the same redirect.
            system.addresses["SHORT_DOMAINS"] = f"{system.redirect_url},{SECOND_SHORT_DOMAIN}"
            redirect = system.start(
                "redirect",
                "services.redirect",
                {
                    "REDIRECT_PORT": str(redirect_port),
                    "REDIRECT_ADMIN_PORT": str(redirect_admin),
                    "SPOOL_DIR": str(tmp_path_factory.mktemp("redirect-spool")),
                    "TRUSTED_PROXIES": "127.0.0.1/32",
                },
                redirect_admin,
            )
            analytics.wait_ready(60)
            redirect.wait_ready()
            webhooks.wait_ready()
            gateway, system.gateway_url = system.start_gateway()
            gateway.wait_ready()
            yield system
        finally:
            system.stop_all()
    asyncio.run(drop_database(name))


@pytest.fixture(scope="module")
def import_worker(stack: Stack) -> Iterator[ServiceProcess]:
    """The import worker (``python -m services.gateway.imports``), as ``make run`` starts it:
    only the modules that import files need it, and one test kills it mid-import."""
    admin = free_port()
    process = stack.start(
        "imports", "services.gateway.imports", {"IMPORT_WORKER_ADMIN_PORT": str(admin)}, admin
    )
    process.wait_ready()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def account(stack: Stack) -> ApiAccount:
    return stack.create_account("main")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, stack: Stack, account: ApiAccount) -> ApiClient:
    """The stack's gateway as ``account`` calls it; ``api.as_account(other)`` for another."""
    return ApiClient(http, stack.gateway_url, account)
