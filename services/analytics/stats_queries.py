"""The SQL of every stats query, built from a :class:`StatsFilter`. Pure: returns text and
server-side parameters (``{name:Type}``), never interpolates a caller's value into SQL.

Every query reads ``FROM scans FINAL`` so rows of a redelivered event count once even before
ClickHouse merged them away, and every query is scoped by ``account_id``, the first column of
the sorting key (so one account's query never reads another's rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from services.analytics.time_buckets import Granularity

DIMENSIONS: Final = {
    "country": "country",
    "city": "city",
    "referrer": "referrer",
    "device": "device",
    "os": "os",
    "browser": "browser",
    "language": "language",
    # Nullable indexes: "" is the default destination / no variant.
    "rule": "ifNull(toString(rule), '')",
    "variant": "ifNull(toString(variant), '')",
}
"""Breakdown dimension (API name) -> column expression."""

CODE_STATS_DIMENSIONS: Final = ("country", "city", "device", "os", "browser")
OVERVIEW_DIMENSIONS: Final = ("country", "device")

_BUCKET_SQL: Final = {
    Granularity.HOUR: "toString(toUnixTimestamp(toStartOfHour(ts, {tz:String})))",
    Granularity.DAY: "toString(toDate(ts, {tz:String}))",
    Granularity.WEEK: "toString(toMonday(ts, {tz:String}))",
    Granularity.MONTH: "toString(toStartOfMonth(ts, {tz:String}))",
}


@dataclass(frozen=True, slots=True)
class StatsFilter:
    account_id: str
    qr_id: str  # "" = every code of the account
    start_ms: int | None  # inclusive, UTC epoch milliseconds; None = open
    end_ms: int | None  # exclusive
    include_bots: bool
    tz: str  # a valid IANA name
    qr_ids: tuple[str, ...] | None = None  # only these codes (a tag's); None = no such limit


@dataclass(frozen=True, slots=True)
class Sql:
    text: str
    parameters: dict[str, Any]


def _scope(
    f: StatsFilter, *, drop_bots: bool = True, with_range: bool = True
) -> tuple[str, dict[str, Any]]:
    clauses = ["account_id = {account:String}"]
    parameters: dict[str, Any] = {"account": f.account_id}
    if f.qr_id:
        clauses.append("qr_id = {qr:String}")
        parameters["qr"] = f.qr_id
    if f.qr_ids is not None:
        # qr_id is the second column of the sorting key: the set prunes granules.
        clauses.append("qr_id IN {codes:Array(String)}" if f.qr_ids else "0")
        if f.qr_ids:
            parameters["codes"] = list(f.qr_ids)
    if with_range and f.start_ms is not None:
        clauses.append("ts >= fromUnixTimestamp64Milli({start:Int64}, 'UTC')")
        parameters["start"] = f.start_ms
    if with_range and f.end_ms is not None:
        clauses.append("ts < fromUnixTimestamp64Milli({end:Int64}, 'UTC')")
        parameters["end"] = f.end_ms
    if drop_bots and not f.include_bots:
        clauses.append("NOT is_bot")
    return " AND ".join(clauses), parameters


def grouping_sets(columns: tuple[str, ...]) -> str:
    return "GROUPING SETS ((), " + ", ".join(f"({column})" for column in columns) + ")"


def code_stats(f: StatsFilter) -> Sql:
    """Totals and the per-dimension counts in one pass. ``g`` is ClickHouse's standard
    ``grouping()`` mask: bit set = that column is aggregated away, so ``g`` = all ones is the
    grand total and a row grouped by the i-th column has only its bit clear. Bots stay in the
    scan (for ``bots``); ``keep`` decides what the other figures count."""
    where, parameters = _scope(f, drop_bots=False)
    columns = ", ".join(CODE_STATS_DIMENSIONS)
    text = f"""
        WITH (NOT is_bot OR {{include_bots:Bool}}) AS keep
        SELECT grouping({columns}) AS g, {columns},
               countIf(keep) AS scans,
               uniqExactIf(visitor_hash, keep) AS unique_scans,
               countIf(is_bot) AS bots,
               toUnixTimestamp64Milli(maxIf(ts, keep)) AS last_ms
        FROM scans FINAL
        WHERE {where}
        GROUP BY {grouping_sets(CODE_STATS_DIMENSIONS)}
        SETTINGS group_by_use_nulls = 0"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "include_bots": f.include_bots})


def time_series(f: StatsFilter, granularity: Granularity) -> Sql:
    where, parameters = _scope(f)
    text = f"""
        SELECT {_BUCKET_SQL[granularity]} AS bucket, count() AS scans, uniqExact(visitor_hash) AS unique_scans
        FROM scans FINAL
        WHERE {where}
        GROUP BY bucket"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "tz": f.tz})


def breakdown(f: StatsFilter, dimension: str, limit: int) -> Sql:
    """Top ``limit`` values of ``dimension`` (an empty value last among equals); ``share`` is
    against every value, not only the top ones."""
    column = DIMENSIONS[dimension]
    where, parameters = _scope(f)
    text = f"""
        SELECT {column} AS key, count() AS scans, uniqExact(visitor_hash) AS unique_scans,
               scans * 100 / sum(scans) OVER () AS share
        FROM scans FINAL
        WHERE {where}
        GROUP BY key
        ORDER BY scans DESC, key = '', key
        LIMIT {{limit:UInt32}}"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "limit": limit})


def overview_totals(f: StatsFilter) -> Sql:
    where, parameters = _scope(f)
    columns = ", ".join(OVERVIEW_DIMENSIONS)
    text = f"""
        SELECT grouping({columns}) AS g, {columns}, count() AS scans, uniqExact(visitor_hash) AS unique_scans
        FROM scans FINAL
        WHERE {where}
        GROUP BY {grouping_sets(OVERVIEW_DIMENSIONS)}
        SETTINGS group_by_use_nulls = 0"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, parameters)


def top_codes(f: StatsFilter, limit: int) -> Sql:
    where, parameters = _scope(f)
    text = f"""
        SELECT qr_id, count() AS scans, uniqExact(visitor_hash) AS unique_scans
        FROM scans FINAL
        WHERE {where}
        GROUP BY qr_id
        ORDER BY scans DESC, qr_id
        LIMIT {{limit:UInt32}}"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "limit": limit})


def scans_since(f: StatsFilter, since_ms: int) -> Sql:
    """Scans from ``since_ms`` on, whatever the filter's own range (``scans_this_month``)."""
    where, parameters = _scope(f, with_range=False)
    text = f"""
        SELECT count() FROM scans FINAL
        WHERE {where} AND ts >= fromUnixTimestamp64Milli({{since:Int64}}, 'UTC')"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "since": since_ms})


EXPORT_FORMATS: Final = {"csv": "CSV", "ndjson": "JSONEachRow"}
"""Scan export format (API name) -> ClickHouse output format. ClickHouse's CSV quotes every
string and doubles quotes inside it (RFC 4180), so the text is relayed as it comes."""

EXPORT_COLUMNS: Final = (
    "scanned_at", "country", "city", "device", "os", "browser", "referrer_host", "bot", "rule",
    "variant",
)  # fmt: skip
"""The columns of a scan export, in order (API.md "Tags, import and export")."""

# `rule` and `variant` are not columns of the scans table yet (the routing-rules change adds
# them): exported empty until then, so files keep one shape. Columns are selected as stored
# and `ts` printed by the engine as ISO 8601 UTC with milliseconds (`...T10:30:00.123Z`):
# converting them in SQL (toString, concat) cost three times the whole query.
_EXPORT_SELECT: Final = """
        ts AS scanned_at, country, city, device, os, browser, referrer AS referrer_host,
        is_bot AS bot, rule, variant"""
# rule/variant are NULL for the default destination (and scans from before routing): an empty
# CSV cell, a JSON null.
_EXPORT_SETTINGS: Final = (
    "SETTINGS date_time_output_format = 'iso', format_csv_null_representation = ''"
)

# "(ts, event_id) after the key", spelt so the engine can use `ts` of the sorting key to skip
# granules: a tuple comparison reads every row of the code.
_AFTER: Final = """ts >= fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC')
        AND (ts > fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC') OR event_id > {after_id:String})"""
_UP_TO: Final = """ts <= fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')
        AND (ts < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC') OR event_id <= {end_id:String})"""


def _export_scope(f: StatsFilter, after: tuple[int, str] | None) -> tuple[str, dict[str, Any]]:
    where, parameters = _scope(f, drop_bots=False)  # every scan: `bot` says which
    if after is not None:
        where += f" AND {_AFTER}"
        parameters = {**parameters, "after_ms": after[0], "after_id": after[1]}
    return where, parameters


def export_chunk_end(f: StatsFilter, after: tuple[int, str] | None, rows: int) -> Sql:
    """The key ``(ts ms, event_id)`` of the ``rows``-th scan after ``after`` (no row: fewer
    are left). Read in the table's sort order, so only the keys up to it are read."""
    where, parameters = _export_scope(f, after)
    text = f"""
        SELECT toUnixTimestamp64Milli(ts), event_id FROM scans FINAL
        WHERE {where}
        ORDER BY ts, event_id
        LIMIT 1 OFFSET {{skip:UInt64}}"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, {**parameters, "skip": rows - 1})


def export_chunk(f: StatsFilter, after: tuple[int, str] | None, end: tuple[int, str] | None) -> Sql:
    """The scans after ``after`` up to ``end`` included (``None``: to the last), oldest
    first, in :data:`EXPORT_COLUMNS`; the caller sets the output format."""
    where, parameters = _export_scope(f, after)
    if end is not None:
        where += f" AND {_UP_TO}"
        parameters = {**parameters, "end_ms": end[0], "end_id": end[1]}
    text = f"""
        SELECT {_EXPORT_SELECT}
        FROM scans FINAL
        WHERE {where}
        ORDER BY ts, event_id
        {_EXPORT_SETTINGS}"""  # noqa: S608 - constants and {name:Type} only
    return Sql(text, parameters)
