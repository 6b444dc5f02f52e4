"""services.runtime.postgres.close_pool against the real Postgres: a shutdown never waits
longer than its bound for a connection someone still holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.runtime.postgres import close_pool, open_pool
from tests.support.backing import scratch_database


@pytest_asyncio.fixture
async def database_url() -> AsyncIterator[str]:
    async with scratch_database("qrforge_pool_test") as dsn:
        yield dsn


async def test_a_held_connection_is_cut_once_the_close_bound_passes(database_url: str) -> None:
    pool = await open_pool(database_url)
    held = await pool.acquire()  # a caller stuck mid-query never releases it
    started = time.monotonic()
    await asyncio.wait_for(close_pool(pool, timeout_s=0.5), 10)
    assert 0.5 <= time.monotonic() - started < 5
    with pytest.raises(asyncpg.InterfaceError):  # its connection was cut
        await held.fetchval("SELECT 1")
    async with asyncpg.create_pool(database_url, min_size=0) as fresh:  # the server is fine
        assert await fresh.fetchval("SELECT 1") == 1


async def test_an_idle_pool_closes_at_once(database_url: str) -> None:
    pool = await open_pool(database_url)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 2") == 2
    started = time.monotonic()
    await close_pool(pool, timeout_s=5)
    assert time.monotonic() - started < 1
    assert pool.is_closing()
