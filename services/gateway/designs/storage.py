"""Postgres access for saved designs. Every query is scoped by account id: another account's
design simply is not found."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from services.gateway.designs.records import SavedDesign
from services.gateway.qrcodes.storage import store_logo

_COLUMNS: Final = "design_id, account_id, name, design, logo_sha256, created_at, updated_at"


def _saved_design(row: Any) -> SavedDesign:
    return SavedDesign(**{key: row[key] for key in SavedDesign.__slots__})


async def insert_design(
    pool: Any, record: SavedDesign, *, logo: bytes | None, max_designs: int
) -> SavedDesign | None:
    """Store ``record`` (and its logo, by hash); ``None`` when the account already has
    ``max_designs``. The account's creates are serialised by a transaction-scoped advisory lock,
    so concurrent ones cannot both pass the count."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"designs:{record.account_id}"
        )
        count = await conn.fetchval(
            "SELECT count(*) FROM designs WHERE account_id = $1", record.account_id
        )
        if count >= max_designs:
            return None
        logo_sha256 = await store_logo(conn, logo) if logo else None
        row = await conn.fetchrow(
            f"""INSERT INTO designs (design_id, account_id, name, design, logo_sha256, created_at,
                   updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {_COLUMNS}""",
            record.design_id, record.account_id, record.name, record.design, logo_sha256,
            record.created_at,
        )  # fmt: skip
        return _saved_design(row)


async def get_design(pool: Any, account_id: str, design_id: str) -> SavedDesign | None:
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM designs WHERE account_id = $1 AND design_id = $2",
        account_id,
        design_id,
    )
    return None if row is None else _saved_design(row)


async def design_for_drawing(
    pool: Any, account_id: str, design_id: str
) -> tuple[dict[str, Any], bytes | None] | None:
    """The saved ``design`` and its logo bytes, in one round trip; ``None`` if not found."""
    row = await pool.fetchrow(
        """SELECT d.design, l.data AS logo FROM designs d
               LEFT JOIN logos l ON l.sha256 = d.logo_sha256
            WHERE d.account_id = $1 AND d.design_id = $2""",
        account_id,
        design_id,
    )
    return None if row is None else (row["design"], row["logo"])


async def list_designs(
    pool: Any,
    account_id: str,
    *,
    limit: int,
    offset: int,
    after: tuple[datetime, str] | None,
) -> tuple[list[SavedDesign], int]:
    """A page of the account's designs, newest first, and how many it has. With ``after`` (a
    cursor's ``(created_at, design_id)``) the page starts just past it and ``offset`` is unused."""
    if after is None:
        rows = await pool.fetch(
            f"""SELECT {_COLUMNS} FROM designs WHERE account_id = $1
                 ORDER BY created_at DESC, design_id DESC LIMIT $2 OFFSET $3""",
            account_id, limit, offset,
        )  # fmt: skip
    else:
        rows = await pool.fetch(
            f"""SELECT {_COLUMNS} FROM designs
                 WHERE account_id = $1 AND (created_at, design_id) < ($2, $3)
                 ORDER BY created_at DESC, design_id DESC LIMIT $4""",
            account_id, after[0], after[1], limit,
        )  # fmt: skip
    total = await pool.fetchval("SELECT count(*) FROM designs WHERE account_id = $1", account_id)
    return [_saved_design(row) for row in rows], int(total)


async def update_design(
    pool: Any,
    account_id: str,
    design_id: str,
    *,
    name: str,
    design: dict[str, Any],
    logo: bytes | None,
    replace_logo: bool,
) -> SavedDesign | None:
    """Set name and design; the logo too when ``replace_logo`` (``logo=None`` removes it)."""
    async with pool.acquire() as conn, conn.transaction():
        logo_sha256 = await store_logo(conn, logo) if replace_logo and logo else None
        row = await conn.fetchrow(
            f"""UPDATE designs SET name = $3, design = $4, updated_at = now(),
                       logo_sha256 = CASE WHEN $5 THEN $6 ELSE logo_sha256 END
                 WHERE account_id = $1 AND design_id = $2 RETURNING {_COLUMNS}""",
            account_id, design_id, name, design, replace_logo, logo_sha256,
        )  # fmt: skip
        return None if row is None else _saved_design(row)


async def delete_design(pool: Any, account_id: str, design_id: str) -> bool:
    deleted = await pool.fetchval(
        "DELETE FROM designs WHERE account_id = $1 AND design_id = $2 RETURNING design_id",
        account_id,
        design_id,
    )
    return deleted is not None
