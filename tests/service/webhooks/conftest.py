"""A throw-away database with the webhooks service's own migrations, one per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from services.runtime.migrations import apply_migrations, discover
from services.runtime.postgres import open_pool
from tests.support.backing import create_database, drop_database, scratch_name


@pytest_asyncio.fixture(scope="module")
async def pool(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    name = scratch_name(f"qrforge_{request.module.__name__.rsplit('.', 1)[-1]}")
    dsn = await create_database(name)
    try:
        await apply_migrations(dsn, [m for m in discover() if m.service == "webhooks"])
        opened = await open_pool(dsn)
        yield opened
        await opened.close()
    finally:
        await drop_database(name)
