"""Postgres access for imports (``imports``, ``import_rows``; migration 010). Every read a
client can cause is scoped by account: another account's import simply is not found.

The worker's chunk is claimed ``FOR UPDATE SKIP LOCKED`` inside the transaction that stores
its codes and records its outcomes: two workers on one job take different rows, and a worker
that dies releases its rows with its transaction, outcomes and codes together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_IMPORT_COLUMNS = """import_id, account_id, api_key_id, source, status, rows, processed, succeeded,
    failed, max_codes, columns, fingerprint, error, created_at, updated_at"""


@dataclass(frozen=True, slots=True)
class ImportJob:
    import_id: str
    account_id: str
    api_key_id: str
    source: str
    status: str
    rows: int
    processed: int
    succeeded: int
    failed: int
    max_codes: int
    columns: list[str]
    fingerprint: bytes
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PendingRow:
    line: int
    body: str  # JSON


@dataclass(frozen=True, slots=True)
class RowOutcome:
    line: int
    qr_id: str | None = None
    error_code: str | None = None
    reason: str | None = None


def _job(row: Any) -> ImportJob:
    return ImportJob(**{key: row[key] for key in ImportJob.__slots__})


async def create_import(
    conn: Any,
    *,
    import_id: str,
    account_id: str,
    api_key_id: str,
    source: str,
    max_codes: int,
    columns: Sequence[str],
    key_hash: bytes | None,
    fingerprint: bytes,
) -> bool:
    """Insert a queued import (no rows yet); False when the account's key already has an
    import under this Idempotency-Key (a concurrent insert of the same key waits for the
    first to commit or roll back)."""
    inserted = await conn.fetchval(
        """INSERT INTO imports (import_id, account_id, api_key_id, source, status, rows, max_codes,
                columns, key_hash, fingerprint)
            VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8)
            ON CONFLICT (account_id, api_key_id, key_hash) WHERE key_hash IS NOT NULL DO NOTHING
            RETURNING import_id""",
        import_id, account_id, api_key_id, source, max_codes, list(columns), key_hash, fingerprint,
    )  # fmt: skip
    return inserted is not None


async def find_by_key(
    pool: Any, account_id: str, api_key_id: str, key_hash: bytes
) -> ImportJob | None:
    row = await pool.fetchrow(
        f"""SELECT {_IMPORT_COLUMNS} FROM imports
            WHERE account_id = $1 AND api_key_id = $2 AND key_hash = $3""",
        account_id,
        api_key_id,
        key_hash,
    )
    return _job(row) if row else None


async def copy_rows(
    conn: Any, import_id: str, rows: Sequence[tuple[int, str, str, str | None, str | None]]
) -> None:
    """Store parsed lines: (line, body JSON, cells JSON, error code, reason) -- a line that
    could not even be mapped has its outcome already."""
    await conn.copy_records_to_table(
        "import_rows",
        records=[(import_id, *row) for row in rows],
        columns=["import_id", "line", "body", "cells", "error_code", "reason"],
    )


async def finish_upload(conn: Any, import_id: str, rows: int, failed: int) -> None:
    await conn.execute(
        """UPDATE imports SET rows = $2::int, processed = $3::int, failed = $3::int,
                updated_at = now(), status = CASE WHEN $3::int = $2::int THEN 'done' ELSE 'queued' END
            WHERE import_id = $1""",
        import_id,
        rows,
        failed,
    )


async def get_import(pool: Any, account_id: str | None, import_id: str) -> ImportJob | None:
    """``account_id=None`` only for the worker, which acts for whoever uploaded the job."""
    row = await pool.fetchrow(
        f"""SELECT {_IMPORT_COLUMNS} FROM imports
            WHERE import_id = $1 AND ($2::text IS NULL OR account_id = $2)""",
        import_id,
        account_id,
    )
    return _job(row) if row else None


async def failed_rows(
    pool: Any, import_id: str, prefetch: int = 1000
) -> AsyncIterator[tuple[int, str, str | None, str | None]]:
    """(line, cells JSON, error code, reason) of every failed line, in order, by cursor."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        query = """SELECT line, cells, error_code, reason FROM import_rows
            WHERE import_id = $1 AND error_code IS NOT NULL ORDER BY line"""
        async for row in conn.cursor(query, import_id, prefetch=prefetch):
            yield row["line"], row["cells"], row["error_code"], row["reason"]


async def unfinished_imports(pool: Any) -> list[str]:
    rows = await pool.fetch(
        "SELECT import_id FROM imports WHERE status IN ('queued', 'running') ORDER BY created_at"
    )
    return [row["import_id"] for row in rows]


async def mark_running(pool: Any, import_id: str) -> None:
    await pool.execute(
        """UPDATE imports SET status = 'running', updated_at = now()
            WHERE import_id = $1 AND status = 'queued'""",
        import_id,
    )


async def claim_chunk(conn: Any, import_id: str, limit: int) -> list[PendingRow]:
    """The next ``limit`` lines without an outcome that no other worker holds, locked until
    ``conn``'s transaction ends."""
    rows = await conn.fetch(
        """SELECT line, body FROM import_rows
            WHERE import_id = $1 AND qr_id IS NULL AND error_code IS NULL
            ORDER BY line LIMIT $2 FOR UPDATE SKIP LOCKED""",
        import_id,
        limit,
    )
    return [PendingRow(row["line"], row["body"]) for row in rows]


async def record_outcomes(conn: Any, import_id: str, outcomes: Sequence[RowOutcome]) -> None:
    """Each line's outcome and the job's counters, in the caller's transaction."""
    if not outcomes:
        return
    await conn.execute(
        """UPDATE import_rows AS r SET qr_id = o.qr_id, error_code = o.error_code, reason = o.reason
            FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])
                AS o(line, qr_id, error_code, reason)
            WHERE r.import_id = $1 AND r.line = o.line""",
        import_id,
        [o.line for o in outcomes],
        [o.qr_id for o in outcomes],
        [o.error_code for o in outcomes],
        [o.reason for o in outcomes],
    )
    succeeded = sum(1 for o in outcomes if o.qr_id is not None)
    await conn.execute(
        """UPDATE imports SET processed = processed + $2, succeeded = succeeded + $3,
                failed = failed + $4, updated_at = now()
            WHERE import_id = $1""",
        import_id,
        len(outcomes),
        succeeded,
        len(outcomes) - succeeded,
    )


async def mark_done_if_complete(pool: Any, import_id: str) -> bool:
    """``done`` once no line is left without an outcome; whether it is."""
    status = await pool.fetchval(
        """UPDATE imports SET status = 'done', updated_at = now()
            WHERE import_id = $1 AND status IN ('queued', 'running') AND NOT EXISTS (
                SELECT FROM import_rows
                WHERE import_id = $1 AND qr_id IS NULL AND error_code IS NULL)
            RETURNING status""",
        import_id,
    )
    return status is not None


async def mark_failed(pool: Any, import_id: str, error: str) -> None:
    await pool.execute(
        """UPDATE imports SET status = 'failed', error = $2, updated_at = now()
            WHERE import_id = $1 AND status IN ('queued', 'running')""",
        import_id,
        error,
    )
