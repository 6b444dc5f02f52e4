"""Tags in Postgres: the SQL condition of a tag filter, shared by the qr_codes and barcodes
queries, and the account's tags with their counts (``GET /v1/tags``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def tag_condition(account_param: str, tag_param: str) -> str:
    """ "Carries the tag", in the form the ``*_account_tags`` GIN indexes (migration 010)
    answer: the row's account-qualified tag keys contain this one."""
    return f"account_tag_keys(account_id, tags) @> ARRAY[{account_param} || chr(31) || {tag_param}]"


# One row per tag of the account's live codes, with how many QR codes and barcodes carry it and
# (on every row) how many tags there are in all. Reads the account's rows through the listing
# indexes (tags are unnested in memory): the cost grows with the account's codes, not the table.
_ACCOUNT_TAGS = """WITH tagged AS (
        SELECT unnest(tags) AS tag, true AS qr FROM qr_codes
        WHERE account_id = $1 AND deleted_at IS NULL AND tags <> '{}'
        UNION ALL
        SELECT unnest(tags), false FROM barcodes
        WHERE account_id = $1 AND deleted_at IS NULL AND tags <> '{}')
    SELECT tag, count(*) FILTER (WHERE qr) AS qr_codes, count(*) FILTER (WHERE NOT qr) AS barcodes,
           count(*) OVER () AS total
    FROM tagged GROUP BY tag
    ORDER BY lower(tag), tag COLLATE "C"
    LIMIT $2 OFFSET $3"""


@dataclass(frozen=True, slots=True)
class TagCount:
    tag: str
    qr_codes: int
    barcodes: int


async def account_tags(
    pool: Any, account_id: str, *, limit: int, offset: int
) -> tuple[list[TagCount], int]:
    """A page of the account's tags, by name (case-insensitively, then exactly: ``Sale``
    before ``sale``), and how many tags it has in all."""
    rows = await pool.fetch(_ACCOUNT_TAGS, account_id, limit, offset)
    tags = [TagCount(row["tag"], int(row["qr_codes"]), int(row["barcodes"])) for row in rows]
    if rows:
        return tags, int(rows[0]["total"])
    # Past the last page: the total still has to be said.
    total = await pool.fetchval(f"SELECT count(*) FROM ({_ACCOUNT_TAGS}) AS t", account_id, None, 0)
    return tags, int(total)
