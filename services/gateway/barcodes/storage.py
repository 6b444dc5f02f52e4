"""Postgres access for the barcodes table. Every query that reads or changes a barcode is
scoped by account id (but the public image's, where the id is the capability): another account's
barcode simply is not found."""

from __future__ import annotations

from typing import Any

from services.gateway.barcodes.records import StoredBarcode
from services.gateway.tags.storage import tag_condition
from services.runtime.errors import ApiError

_BARCODE_COLUMNS = """barcode_id, account_id, symbology, value, output, width, height, show_text,
    metadata, created_at, tags"""


def _stored_barcode(row: Any) -> StoredBarcode:
    return StoredBarcode(**{key: row[key] for key in StoredBarcode.__slots__})


async def insert_barcode(pool: Any, record: StoredBarcode) -> StoredBarcode:
    row = await pool.fetchrow(
        f"""INSERT INTO barcodes (barcode_id, account_id, symbology, value, output, width, height,
                show_text, metadata, tags)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_BARCODE_COLUMNS}""",
        record.barcode_id,
        record.account_id,
        record.symbology,
        record.value,
        record.output,
        record.width,
        record.height,
        record.show_text,
        record.metadata,
        record.tags,
    )
    return _stored_barcode(row)


async def get_barcode(pool: Any, account_id: str | None, barcode_id: str) -> StoredBarcode | None:
    """``account_id=None`` only for the public image URL, where the id is the capability."""
    row = await pool.fetchrow(
        f"""SELECT {_BARCODE_COLUMNS} FROM barcodes
            WHERE barcode_id = $1 AND ($2::text IS NULL OR account_id = $2) AND deleted_at IS NULL""",
        barcode_id,
        account_id,
    )
    return _stored_barcode(row) if row else None


async def get_owned_barcode(pool: Any, account_id: str, barcode_id: str) -> StoredBarcode:
    """The account's barcode ``barcode_id``, or ``BARCODE_NOT_FOUND``."""
    record = await get_barcode(pool, account_id, barcode_id)
    if record is None:
        raise ApiError("BARCODE_NOT_FOUND", "No barcode with this id in your account")
    return record


async def list_barcodes(
    pool: Any, account_id: str, *, limit: int, offset: int, tag: str | None = None
) -> tuple[list[StoredBarcode], int]:
    condition = "account_id = $1 AND deleted_at IS NULL"
    args: list[Any] = [account_id]
    if tag is not None:
        args.append(tag)
        condition += " AND " + tag_condition("$1::text", "$2::text")
    total = await pool.fetchval(f"SELECT count(*) FROM barcodes WHERE {condition}", *args)
    rows = await pool.fetch(
        f"""SELECT {_BARCODE_COLUMNS} FROM barcodes WHERE {condition}
            ORDER BY created_at DESC, barcode_id DESC
            LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args,
        limit,
        offset,
    )
    return [_stored_barcode(row) for row in rows], int(total)


async def set_tags(
    pool: Any, account_id: str, barcode_id: str, tags: list[str]
) -> StoredBarcode | None:
    row = await pool.fetchrow(
        f"""UPDATE barcodes SET tags = $3
            WHERE barcode_id = $1 AND account_id = $2 AND deleted_at IS NULL
            RETURNING {_BARCODE_COLUMNS}""",
        barcode_id,
        account_id,
        tags,
    )
    return _stored_barcode(row) if row else None


async def delete_barcode(pool: Any, account_id: str, barcode_id: str) -> bool:
    result: str = await pool.execute(
        """UPDATE barcodes SET deleted_at = now()
           WHERE barcode_id = $1 AND account_id = $2 AND deleted_at IS NULL""",
        barcode_id,
        account_id,
    )
    return result.endswith(" 1")
