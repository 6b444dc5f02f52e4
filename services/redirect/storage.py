"""Postgres access: read a dynamic code by its domain and short code, take one scan of a
limited code.

The pool is created lazily (``min_size=0``) so the service starts, and serves cached codes,
while Postgres is down. Every failure is raised as :class:`DatabaseUnavailableError`.
"""

from __future__ import annotations

from typing import Final

import asyncpg

from services.redirect.codes import CodeRecord, split_cache_key
from services.runtime.postgres import close_pool, open_pool

_FETCH: Final = """
    SELECT qr_id, account_id, short_code, destination_url, password_hash, expires_at,
           max_scans, scan_count, active, deleted_at, domain, rules, variants, expired_url,
           forward_query, utm
    FROM qr_codes
    WHERE domain = $1 AND short_code = $2 AND kind = 'dynamic'
"""
# Atomic: concurrent scans of a code with max_scans = N give exactly N rows back.
_CLAIM: Final = """
    UPDATE qr_codes SET scan_count = scan_count + 1
    WHERE qr_id = $1 AND scan_count < max_scans
    RETURNING scan_count
"""

_ERRORS: Final = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class DatabaseUnavailableError(RuntimeError):
    """Postgres could not answer."""


class CodeStore:
    def __init__(self, dsn: str, *, max_size: int, timeout_s: float) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None
        self.last_ok = False

    async def open(self) -> None:
        self._pool = await open_pool(self._dsn, min_size=0, max_size=self._max_size)

    async def close(self) -> None:
        if self._pool is not None:
            await close_pool(self._pool)
            self._pool = None

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise DatabaseUnavailableError("pool not open")
        return self._pool

    async def fetch(self, key: str) -> CodeRecord | None:
        """The code a :func:`~services.redirect.codes.cache_key` names."""
        domain, short_code = split_cache_key(key)
        pool = self._require_pool()
        try:
            async with pool.acquire(timeout=self._timeout_s) as conn:
                row = await conn.fetchrow(_FETCH, domain, short_code, timeout=self._timeout_s)
        except _ERRORS as exc:
            self.last_ok = False
            raise DatabaseUnavailableError(type(exc).__name__) from exc
        self.last_ok = True
        return CodeRecord.from_row(row)

    async def claim_scan(self, qr_id: str) -> bool:
        """Take one of a limited code's scans; ``False`` when none is left."""
        pool = self._require_pool()
        try:
            # Waiting for a pool connection may take a while under a burst on one code.
            async with pool.acquire(timeout=self._timeout_s * 5) as conn:
                count = await conn.fetchval(_CLAIM, qr_id, timeout=self._timeout_s)
        except _ERRORS as exc:
            self.last_ok = False
            raise DatabaseUnavailableError(type(exc).__name__) from exc
        self.last_ok = True
        return count is not None

    async def check(self) -> None:
        pool = self._require_pool()
        try:
            async with pool.acquire(timeout=1.0) as conn:
                await conn.fetchval("SELECT 1", timeout=1.0)
        except _ERRORS as exc:
            self.last_ok = False
            raise DatabaseUnavailableError(type(exc).__name__) from exc
        self.last_ok = True
