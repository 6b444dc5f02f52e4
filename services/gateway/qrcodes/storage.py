"""Postgres access for the QR code catalog (qr_codes, logos, the per-account code counter). Every query that reads or
changes a code is scoped by account id: another account's code simply is not found."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from typing import Any

from services.gateway.qrcodes.name_search import contains_pattern
from services.gateway.qrcodes.records import StoredQR
from services.gateway.tags.storage import tag_condition
from services.runtime.errors import ApiError

_QR_COLUMNS = """qr_id, account_id, kind, qr_type, name, content, payload, format, size,
    error_correction, quiet_zone, design, logo_sha256, version, created_at, updated_at,
    short_code, destination_url, password_hash, expires_at, max_scans, scan_count, active,
    applied_logo_size, warnings, domain, rules, variants, expired_url, forward_query, utm, tags"""


def _stored_qr(row: Any) -> StoredQR:
    return StoredQR(**{key: row[key] for key in StoredQR.__slots__})


async def count_codes(pool: Any, account_id: str) -> tuple[int, int]:
    """(stored QR codes, stored barcodes) of an account, deleted ones excluded. QR codes are
    the counter the quota is enforced on (one row, however many codes); barcodes are not under
    the quota and have no counter."""
    row = await pool.fetchrow(
        """SELECT (SELECT sum(qr_codes) FROM account_code_counts WHERE account_id = $1) AS qr,
                  (SELECT count(*) FROM barcodes WHERE account_id = $1 AND deleted_at IS NULL) AS bc""",
        account_id,
    )
    return int(row["qr"] or 0), int(row["bc"])


async def store_logo(conn: Any, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    await conn.execute(
        "INSERT INTO logos (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        digest,
        data,
    )
    return digest


async def load_logo(pool: Any, digest: str) -> bytes | None:
    data: bytes | None = await pool.fetchval("SELECT data FROM logos WHERE sha256 = $1", digest)
    return data


_INSERT_QR_COLUMNS = """qr_id, account_id, kind, qr_type, name, content, payload, format, size,
    error_correction, quiet_zone, design, logo_sha256, version, short_code, destination_url,
    password_hash, expires_at, max_scans, active, applied_logo_size, warnings, domain, rules,
    variants, expired_url, forward_query, utm, tags"""
_INSERT_QR_VALUES = """$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
    $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29"""
_LIMIT_PARAMETER = "$30"  # after the row's values

_INSERT_QR = f"""INSERT INTO qr_codes ({_INSERT_QR_COLUMNS}) VALUES ({_INSERT_QR_VALUES})
    RETURNING {_QR_COLUMNS}"""

# Counts one more code for an account under a limit (``{limit}`` > 0) unless that would pass
# it; no row back when the quota is full. Such an account counts on shard 0 only: its row stays
# locked until the transaction ends, so concurrent creates of the account queue on it, and each
# one's condition is evaluated on the count the one before committed (the other shards are
# only written by unlimited creates, from before a plan change). The first code of an account
# inserts shard 0, checked by the SELECT's condition.
_OTHER_SHARDS = """(SELECT coalesce(sum(other.qr_codes), 0) FROM account_code_counts AS other
        WHERE other.account_id = {account_id} AND other.shard <> 0)"""
_COUNT_ONE_MORE_LIMITED_TEMPLATE = f"""INSERT INTO account_code_counts AS counts
        (account_id, shard, qr_codes)
    SELECT {{account_id}}, 0, 1 WHERE {_OTHER_SHARDS} < {{limit}}::bigint
    ON CONFLICT (account_id, shard) DO UPDATE SET qr_codes = counts.qr_codes + 1
        WHERE counts.qr_codes + {_OTHER_SHARDS} < {{limit}}::bigint
    RETURNING qr_codes"""
# Unlimited accounts count too (usage reads it), on a shard of 1-15: the count is never
# refused, so nothing needs the creates of one account to queue behind each other. The shard is
# the connection's (_CONNECTION_SHARD), not a random one: concurrent connections still spread
# over the shards, and a transaction storing many codes (an import chunk) locks one counter row
# only, where random shards locked several in random order and deadlocked two such transactions.
_CONNECTION_SHARD = "(1 + pg_backend_pid() % 15)::smallint"
_COUNT_ONE_MORE_UNLIMITED_TEMPLATE = f"""INSERT INTO account_code_counts AS counts
        (account_id, shard, qr_codes)
    SELECT {{account_id}}, {_CONNECTION_SHARD}, 1 WHERE {{limit}}::bigint <= 0
    ON CONFLICT (account_id, shard) DO UPDATE SET qr_codes = counts.qr_codes + 1
    RETURNING qr_codes"""


def _count_one_more(template: str, account_id: str, limit: str) -> str:
    return template.replace("{account_id}", account_id).replace("{limit}", limit)


_COUNT_ONE_MORE_TEMPLATES = {
    True: _COUNT_ONE_MORE_LIMITED_TEMPLATE,
    False: _COUNT_ONE_MORE_UNLIMITED_TEMPLATE,
}
# By "is the account under a limit": the statement that counts one more code ($1 the account,
# $2 the limit), and the one that counts and inserts together (the limit after the row), so the counter
# row is locked for no longer than the statement and its commit.
_COUNT_ONE_MORE = {
    limited: _count_one_more(template, "$1", "$2")
    for limited, template in _COUNT_ONE_MORE_TEMPLATES.items()
}
_COUNT_AND_INSERT_QR = {
    limited: f"""WITH counted AS ({_count_one_more(template, "$2", _LIMIT_PARAMETER)})
    INSERT INTO qr_codes ({_INSERT_QR_COLUMNS}) SELECT {_INSERT_QR_VALUES} FROM counted
    RETURNING {_QR_COLUMNS}"""
    for limited, template in _COUNT_ONE_MORE_TEMPLATES.items()
}


def _row_values(record: StoredQR, logo_sha256: str | None) -> tuple[Any, ...]:
    """The parameters of ``_INSERT_QR`` for ``record``, in column order."""
    return (
        record.qr_id,
        record.account_id,
        record.kind,
        record.qr_type,
        record.name,
        record.content,
        record.payload,
        record.format,
        record.size,
        record.error_correction,
        record.quiet_zone,
        record.design,
        logo_sha256,
        record.version,
        record.short_code,
        record.destination_url,
        record.password_hash,
        record.expires_at,
        record.max_scans,
        record.active,
        record.applied_logo_size,
        record.warnings,
        record.domain,
        record.rules,
        record.variants,
        record.expired_url,
        record.forward_query,
        record.utm,
        record.tags,
    )


async def _quota_exceeded(conn: Any, account_id: str, max_codes: int) -> ApiError:
    used = await conn.fetchval(
        "SELECT sum(qr_codes) FROM account_code_counts WHERE account_id = $1", account_id
    )
    return ApiError(
        "QUOTA_EXCEEDED",
        f"Your plan allows {max_codes} stored codes; delete some or upgrade",
        details={"limit": max_codes, "used": int(used or 0)},
    )


async def insert_qr(conn: Any, record: StoredQR, *, max_codes: int, logo: bytes | None) -> StoredQR:
    """Store a code and count it, unless the account's plan limit (``max_codes``, 0 for none)
    is reached (QUOTA_EXCEEDED).

    Counting and inserting are atomic together, and an insert that fails (a short-code clash)
    takes its count back with it. Without a logo, on a connection in no transaction, that is
    one statement; with one, or when ``conn`` is already in a transaction (a batch's), a
    (sub)transaction, where a savepoint keeps one failed insert from aborting the rest. The
    count comes first there: the account's counter row is the only lock a create waits for
    while holding another.
    """
    limited = max_codes > 0
    if not logo and not conn.is_in_transaction():
        row = await conn.fetchrow(
            _COUNT_AND_INSERT_QR[limited], *_row_values(record, None), max_codes
        )
        if row is None:
            raise await _quota_exceeded(conn, record.account_id, max_codes)
        return _stored_qr(row)
    async with conn.transaction():
        if await conn.fetchval(_COUNT_ONE_MORE[limited], record.account_id, max_codes) is None:
            # The refused update left the row locked by this transaction: the count is
            # the one it saw.
            raise await _quota_exceeded(conn, record.account_id, max_codes)
        logo_sha256 = await store_logo(conn, logo) if logo else None
        return _stored_qr(await conn.fetchrow(_INSERT_QR, *_row_values(record, logo_sha256)))


# Codes without logos of accounts under no limit, many in one statement: the rows arrive as one
# JSON array (one parameter however many rows), the accounts' counters each move by their number
# of rows on one shard, and the rows come back in no particular order (matched by qr_id).
_INSERT_UNLIMITED_STATIC = f"""WITH new AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS n(
            qr_id text, account_id text, kind text, qr_type text, name text, content jsonb,
            payload text, format text, size integer, error_correction text, quiet_zone integer,
            design jsonb, logo_sha256 text, version integer, short_code text,
            destination_url text, password_hash text, expires_at timestamptz,
            max_scans integer, active boolean, applied_logo_size double precision,
            warnings jsonb, domain text, rules jsonb, variants jsonb, expired_url text,
            forward_query boolean, utm jsonb, tags text[])
    ), counted AS (
        INSERT INTO account_code_counts AS counts (account_id, shard, qr_codes)
        SELECT account_id, {_CONNECTION_SHARD}, count(*) FROM new
        GROUP BY account_id
        ON CONFLICT (account_id, shard) DO UPDATE SET qr_codes = counts.qr_codes + excluded.qr_codes
    )
    INSERT INTO qr_codes ({_INSERT_QR_COLUMNS}) SELECT {_INSERT_QR_COLUMNS} FROM new
    RETURNING {_QR_COLUMNS}"""


def _json_row(record: StoredQR) -> dict[str, Any]:
    if record.kind != "static" or record.expires_at is not None:
        raise ValueError("only static codes are stored in groups")
    return {
        "qr_id": record.qr_id, "account_id": record.account_id, "kind": record.kind,
        "qr_type": record.qr_type, "name": record.name, "content": record.content,
        "payload": record.payload, "format": record.format, "size": record.size,
        "error_correction": record.error_correction, "quiet_zone": record.quiet_zone,
        "design": record.design, "logo_sha256": None, "version": record.version,
        "short_code": None, "destination_url": None, "password_hash": None,
        "expires_at": None, "max_scans": record.max_scans, "active": record.active,
        "applied_logo_size": record.applied_logo_size, "warnings": record.warnings,
        "domain": record.domain, "rules": [], "variants": [], "expired_url": None,
        "forward_query": False, "utm": None, "tags": record.tags,
    }  # fmt: skip


def _any_json_row(record: StoredQR) -> dict[str, Any]:
    """A logo-less code of either kind as :data:`_INSERT_UNLIMITED_STATIC` reads it."""
    if record.kind == "static":
        return _json_row(record)
    expires_at = record.expires_at.isoformat() if record.expires_at is not None else None
    return {
        **_json_row(replace(record, kind="static", expires_at=None)),
        "kind": record.kind, "short_code": record.short_code,
        "destination_url": record.destination_url, "password_hash": record.password_hash,
        "expires_at": expires_at, "rules": record.rules, "variants": record.variants,
        "expired_url": record.expired_url, "forward_query": record.forward_query,
        "utm": record.utm,
    }  # fmt: skip


async def insert_unlimited_static_qrs(conn: Any, records: Sequence[StoredQR]) -> list[StoredQR]:
    """Store static codes without logos of accounts under no code limit, and count them, in one
    statement; all or none (a clash fails the statement). In the order given."""
    rows = await conn.fetch(_INSERT_UNLIMITED_STATIC, [_json_row(record) for record in records])
    stored = {row["qr_id"]: _stored_qr(row) for row in rows}
    return [stored[record.qr_id] for record in records]


# The same, answering only the ids: reading every stored row back (five JSON columns each)
# cost an import a seventh of its worker's CPU for values it already had.
_INSERT_UNLIMITED_IDS = (
    _INSERT_UNLIMITED_STATIC.removesuffix(f"RETURNING {_QR_COLUMNS}") + "RETURNING qr_id"
)


async def insert_unlimited_qrs(conn: Any, records: Sequence[StoredQR]) -> list[str]:
    """Like :func:`insert_unlimited_static_qrs`, for dynamic codes (without logos) too, and
    answering only the ids stored, in the order given. A short code already taken fails the
    whole statement (asyncpg.UniqueViolationError), for the caller to store the codes one by
    one, drawing the clashing one again."""
    rows = await conn.fetch(_INSERT_UNLIMITED_IDS, [_any_json_row(record) for record in records])
    stored = {row["qr_id"] for row in rows}
    if len(stored) != len(records):
        raise RuntimeError("a grouped insert stored another number of codes than it was given")
    return [record.qr_id for record in records]


async def get_qr(pool: Any, account_id: str, qr_id: str) -> StoredQR | None:
    row = await pool.fetchrow(
        f"SELECT {_QR_COLUMNS} FROM qr_codes WHERE qr_id = $1 AND account_id = $2 AND deleted_at IS NULL",
        qr_id,
        account_id,
    )
    return _stored_qr(row) if row else None


async def get_owned_qr(pool: Any, account_id: str, qr_id: str) -> StoredQR:
    """The account's code ``qr_id``, or ``QR_NOT_FOUND`` (another account's code included)."""
    record = await get_qr(pool, account_id, qr_id)
    if record is None:
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    return record


async def get_public_qr(pool: Any, qr_id: str) -> StoredQR | None:
    """For the public image URL: the id itself is the (unguessable) capability."""
    row = await pool.fetchrow(
        f"SELECT {_QR_COLUMNS} FROM qr_codes WHERE qr_id = $1 AND deleted_at IS NULL", qr_id
    )
    return _stored_qr(row) if row else None


async def list_qr(
    pool: Any,
    account_id: str,
    *,
    qr_type: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    after: tuple[Any, str] | None,
    tag: str | None = None,
    name_contains: str | None = None,
) -> tuple[list[StoredQR], int]:
    """A page of codes, newest first, and the total matching the filters.

    ``after`` = (created_at, qr_id) of the last row seen continues by keyset, which stays
    correct while codes are added; otherwise ``offset`` pages.
    """
    condition, args = catalog_filter(
        account_id, qr_type=qr_type, kind=kind, tag=tag, name_contains=name_contains
    )
    total = await pool.fetchval(f"SELECT count(*) FROM qr_codes WHERE {condition}", *args)
    page_where = condition
    page_args = list(args)
    if after is not None:
        page_args.extend(after)
        page_where += f" AND (created_at, qr_id) < (${len(page_args) - 1}, ${len(page_args)})"
        offset = 0
    page_args.extend([limit, offset])
    rows = await pool.fetch(
        f"""SELECT {_QR_COLUMNS} FROM qr_codes WHERE {page_where}
            ORDER BY created_at DESC, qr_id DESC LIMIT ${len(page_args) - 1} OFFSET ${len(page_args)}""",
        *page_args,
    )
    return [_stored_qr(row) for row in rows], int(total)


def catalog_filter(
    account_id: str,
    *,
    qr_type: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    name_contains: str | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE condition (and its arguments, ``$1`` the account) of the account's live
    codes matching the filters given (``name_contains``: case-insensitively, migration 011's
    trigram index)."""
    where = ["account_id = $1", "deleted_at IS NULL"]
    args: list[Any] = [account_id]
    if qr_type is not None:
        args.append(qr_type)
        where.append(f"qr_type = ${len(args)}")
    if kind is not None:
        args.append(kind)
        where.append(f"kind = ${len(args)}")
    if tag is not None:
        args.append(tag)
        where.append(tag_condition("$1::text", f"${len(args)}::text"))
    if name_contains is not None:
        args.append(contains_pattern(name_contains))
        where.append(f"name ILIKE ${len(args)}")
    return " AND ".join(where), args


async def tagged_qr_ids(pool: Any, account_id: str, tag: str) -> list[str]:
    """Every live code of the account carrying ``tag`` (the overview's scope)."""
    condition, args = catalog_filter(account_id, tag=tag)
    rows = await pool.fetch(f"SELECT qr_id FROM qr_codes WHERE {condition}", *args)
    return [row["qr_id"] for row in rows]


async def stream_qr(
    pool: Any, account_id: str, *, kind: str | None, tag: str | None, prefetch: int = 500
) -> AsyncGenerator[StoredQR, None]:
    """Every live code of the account matching the filters, newest first, read through a
    server-side cursor ``prefetch`` rows at a time: memory stays flat however many there
    are. Holds one pool connection (and a read-only transaction, the cursor's) until the
    iteration ends or is closed."""
    condition, args = catalog_filter(account_id, kind=kind, tag=tag)
    query = f"""SELECT {_QR_COLUMNS} FROM qr_codes WHERE {condition}
        ORDER BY created_at DESC, qr_id DESC"""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in conn.cursor(query, *args, prefetch=prefetch):
            yield _stored_qr(row)


async def delete_qr(pool: Any, account_id: str, qr_id: str) -> StoredQR | None:
    """Soft-delete a live code and count it out of the account's quota, in one statement: a
    delete that finds the code already deleted (a racing one won) takes nothing off."""
    row = await pool.fetchrow(
        f"""WITH deleted AS (
                UPDATE qr_codes SET deleted_at = now(), updated_at = now()
                WHERE qr_id = $1 AND account_id = $2 AND deleted_at IS NULL
                RETURNING {_QR_COLUMNS}),
            uncounted AS (
                INSERT INTO account_code_counts AS counts (account_id, shard, qr_codes)
                SELECT $2, 0, -1 WHERE EXISTS (SELECT FROM deleted)
                ON CONFLICT (account_id, shard) DO UPDATE SET qr_codes = counts.qr_codes - 1)
            SELECT * FROM deleted""",
        qr_id,
        account_id,
    )
    return _stored_qr(row) if row else None


async def update_code(
    pool: Any, account_id: str, qr_id: str, changes: dict[str, Any]
) -> StoredQR | None:
    """Apply ``changes`` (column -> value, from a fixed set of columns) to a live code."""
    allowed = {
        "name", "destination_url", "password_hash", "expires_at", "max_scans", "active",
        "rules", "variants", "expired_url", "forward_query", "utm", "tags",
        "short_code", "domain", "payload", "content", "version",
    }  # fmt: skip
    if not changes or not set(changes) <= allowed:
        raise ValueError(f"unexpected columns {sorted(set(changes) - allowed)}")
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    row = await pool.fetchrow(
        f"""UPDATE qr_codes SET {assignments}, updated_at = now()
            WHERE qr_id = $1 AND account_id = $2 AND deleted_at IS NULL
            RETURNING {_QR_COLUMNS}""",
        qr_id,
        account_id,
        *changes.values(),
    )
    return _stored_qr(row) if row else None


async def count_by_kind(pool: Any, account_id: str, tag: str | None = None) -> dict[str, int]:
    condition, args = catalog_filter(account_id, tag=tag)
    rows = await pool.fetch(
        f"SELECT kind, count(*) AS n FROM qr_codes WHERE {condition} GROUP BY kind", *args
    )
    return {row["kind"]: int(row["n"]) for row in rows}


async def names_of(pool: Any, account_id: str, qr_ids: list[str]) -> dict[str, str | None]:
    rows = await pool.fetch(
        "SELECT qr_id, name FROM qr_codes WHERE account_id = $1 AND qr_id = ANY($2::text[])",
        account_id,
        qr_ids,
    )
    return {row["qr_id"]: row["name"] for row in rows}
