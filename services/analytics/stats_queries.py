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
