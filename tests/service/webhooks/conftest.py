"""A throw-away database with the webhooks service's own migrations, one per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from services.runtime.postgres import close_pool, open_pool
from tests.support.backing import scratch_database


@pytest_asyncio.fixture(scope="module")
async def pool(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    module = request.module.__name__.rsplit(".", 1)[-1]
    async with scratch_database(f"qrforge_{module}", migrations_of="webhooks") as dsn:
        opened = await open_pool(dsn)
        yield opened
        await close_pool(opened)
