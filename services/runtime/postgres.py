"""The asyncpg pool every Postgres-backed service opens once and closes on shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Final

import asyncpg

log = logging.getLogger(__name__)

# How long a shutdown waits for connections still in use before cutting them.
POOL_CLOSE_TIMEOUT_S: Final = 5.0


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python values, not strings.
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _end_stray_transaction(conn: asyncpg.Connection) -> None:
    """What a connection needs before its next user. Not asyncpg's default reset (``RESET ALL``,
    ``UNLISTEN *``, advisory unlock, ``CLOSE ALL``: one more round trip on every release, a
    fifth of a stored generate): pooled connections never take session state (no ``SET``,
    ``LISTEN``, advisory locks or cursors outside a transaction; migrations use their own
    connection), so only a transaction a cancelled caller left open needs ending."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def open_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_end_stray_transaction,
        command_timeout=10,
    )
    assert pool is not None
    return pool


async def check_pool(pool: asyncpg.Pool) -> None:
    """Readiness: a round trip to the database."""
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


async def close_pool(pool: asyncpg.Pool, timeout_s: float = POOL_CLOSE_TIMEOUT_S) -> None:
    """Close ``pool``, waiting at most ``timeout_s`` for connections still in use, then cut
    them. asyncpg's own close waits for every acquired connection without limit, so one caller
    stuck on a database that stopped answering would hold the whole process's shutdown."""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        log.error("postgres connections still in use after %g s of shutdown: cut", timeout_s)
        pool.terminate()
