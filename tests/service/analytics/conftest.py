"""Fixtures: one shared analytics process (fresh chdb directory, scratch vhost) for the tests
that can share it, each test with its own account ids; see :mod:`.harness`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.service.analytics.harness import Analytics, Client, Publisher
from tests.support.backing import scratch_name, scratch_vhost


@pytest.fixture(scope="session")
def shared_vhost() -> Iterator[tuple[str, str]]:
    name = scratch_name("qrforge_analytics_test")
    with scratch_vhost(name) as url:
        yield name, url


@pytest.fixture(scope="session")
def analytics(
    shared_vhost: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Analytics]:
    """The shared service: tests use their own account ids, so they never see each other."""
    vhost, url = shared_vhost
    base = tmp_path_factory.mktemp("analytics")
    service = Analytics(
        "analytics-service-test", url, vhost, base / "clickhouse", base / "insert-fault"
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest_asyncio.fixture(scope="session")
async def publisher(analytics: Analytics) -> AsyncIterator[Publisher]:
    opened = await Publisher.open(analytics.amqp_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(scope="session")
async def client(analytics: Analytics) -> AsyncIterator[Client]:
    opened = Client(analytics.address)
    try:
        yield opened
    finally:
        await opened.close()
