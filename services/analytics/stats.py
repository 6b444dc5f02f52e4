"""Scan statistics: validates a request, runs the SQL of :mod:`services.analytics.stats_queries`
through an injected query runner, and shapes the rows (shares, labels, zero-filled series).

Conventions the callers see:

- ``include_bots`` false (the default) leaves bots and link previews out of every figure
  except ``bot_scans``, which always counts them.
- Shares are percentages of the filtered total, rounded to two decimals.
- Empty values are labelled: no country or city → ``unknown``, no referrer → ``direct``.
- ``from``/``to`` are inclusive days in ``tz``; open ends are unbounded, except for a time
  series, which needs a finite range (see :func:`time_buckets.series_range`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from services.analytics import stats_queries
from services.analytics.stats_queries import Sql, StatsFilter
from services.analytics.time_buckets import (
    Bucket,
    bucket_keys,
    check_order,
    day_bounds_ms,
    month_start_ms,
    parse_day,
    parse_granularity,
    parse_tz,
    series_range,
)
from services.runtime.errors import ApiError
from services.runtime.user_agents import DEVICES, OPERATING_SYSTEMS

QueryRunner = Callable[[str, Mapping[str, Any]], Awaitable[list[tuple[Any, ...]]]]
RawQueryRunner = Callable[[str, Mapping[str, Any], str], Awaitable[bytes]]

DEFAULT_LIMIT: Final = 10
MAX_LIMIT: Final = 1000
# The most codes an overview can be limited to (a tag's codes; the gateway checks the same
# bound before asking): about 1.5 MB of ids in one message, under gRPC's 4 MiB default.
MAX_OVERVIEW_CODES: Final = 50_000
# Scans per export query: ~18 MB of CSV held at a time, and few enough queries that their
# fixed cost (finding the chunk's end, reading its first granules) stays small.
EXPORT_CHUNK_ROWS: Final = 200_000
EMPTY_LABELS: Final = {
    "country": "unknown",
    "city": "unknown",
    "referrer": "direct",
    "language": "unknown",
    # An index, or "" for the default destination (no rule matched, no variant).
    "rule": "",
    "variant": "",
}


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """A query as the caller sent it (strings unvalidated)."""

    account_id: str
    qr_id: str = ""
    from_date: str = ""
    to_date: str = ""
    tz: str = ""
    include_bots: bool = False
    qr_ids: tuple[str, ...] | None = None  # only these codes; None = every code (or qr_id)


@dataclass(frozen=True, slots=True)
class Share:
    key: str
    scans: int
    unique_scans: int
    share: float  # percent, 0..100


@dataclass(frozen=True, slots=True)
class CodeStats:
    total_scans: int
    unique_scans: int
    bot_scans: int
    last_scan_at: str  # RFC 3339 UTC with milliseconds; "" = never
    top_country: str
    top_city: str
    devices: tuple[Share, ...]
    os: tuple[Share, ...]
    browsers: tuple[Share, ...]


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    period: str
    scans: int
    unique_scans: int


@dataclass(frozen=True, slots=True)
class AccountOverview:
    total_scans: int
    unique_scans: int
    top_codes: tuple[Share, ...]
    top_countries: tuple[Share, ...]
    devices: tuple[Share, ...]
    scans_this_month: int


def percent(part: int, total: int) -> float:
    return round(part * 100.0 / total, 2) if total else 0.0


def label(dimension: str, value: str) -> str:
    return value or EMPTY_LABELS.get(dimension, "other")


def rfc3339_ms(epoch_ms: int) -> str:
    if epoch_ms <= 0:
        return ""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def shares(rows: Iterable[tuple[str, int, int]], total: int, dimension: str) -> tuple[Share, ...]:
    """Rows of ``(value, scans, uniques)`` as shares, biggest first (ties by name, the empty
    value last)."""
    ordered = sorted(rows, key=lambda row: (-row[1], row[0] == "", row[0]))
    return tuple(
        Share(label(dimension, key), scans, uniques, percent(scans, total))
        for key, scans, uniques in ordered
    )


def with_all_keys(found: tuple[Share, ...], keys: Sequence[str]) -> tuple[Share, ...]:
    """``found`` completed with a zero row for every expected key, in the expected order,
    followed by any unexpected key (``bot`` when bots are included)."""
    by_key = {share.key: share for share in found}
    fixed = tuple(by_key.pop(key, Share(key, 0, 0, 0.0)) for key in keys)
    return fixed + tuple(share for share in found if share.key in by_key)


def _grouped(
    rows: Sequence[tuple[Any, ...]], columns: tuple[str, ...]
) -> dict[str, list[tuple[Any, ...]]]:
    """Split a GROUPING SETS result by the column each row is grouped by ("" = grand total)."""
    width = len(columns)
    all_bits = (1 << width) - 1
    found: dict[str, list[tuple[Any, ...]]] = {name: [] for name in ("", *columns)}
    for row in rows:
        mask = int(row[0])
        if mask == all_bits:
            found[""].append(row)
            continue
        for index, name in enumerate(columns):
            if mask == all_bits ^ (1 << (width - 1 - index)):
                found[name].append(row)
    return found


class ScanStats:
    def __init__(
        self,
        run: QueryRunner,
        clock: Callable[[], datetime] | None = None,
        *,
        raw: RawQueryRunner | None = None,
    ) -> None:
        self._run = run
        self._raw = raw
        self._clock = clock or (lambda: datetime.now(UTC))

    async def _rows(self, sql: Sql) -> list[tuple[Any, ...]]:
        return await self._run(sql.text, sql.parameters)

    def _filter(
        self, request: StatsRequest, *, series_granularity: str | None = None
    ) -> tuple[StatsFilter, list[Bucket]]:
        if not request.account_id:
            raise ApiError("INVALID_PARAMETER", "account_id is required", field="account_id")
        tz = parse_tz(request.tz)
        first = parse_day(request.from_date, "from", tz)
        last = parse_day(request.to_date, "to", tz)
        check_order(first, last)
        buckets: list[Bucket] = []
        if series_granularity is not None:
            granularity = parse_granularity(series_granularity)
            today = self._clock().astimezone(tz).date()
            first, last = series_range(first, last, granularity, today)
            buckets = bucket_keys(granularity, first, last, tz)
        start_ms, end_ms = day_bounds_ms(first, last, tz)
        if request.qr_ids is not None and len(request.qr_ids) > MAX_OVERVIEW_CODES:
            raise ApiError(
                "INVALID_PARAMETER",
                f"an overview covers at most {MAX_OVERVIEW_CODES} codes",
                field="qr_ids",
            )
        stats_filter = StatsFilter(
            account_id=request.account_id,
            qr_id=request.qr_id,
            start_ms=start_ms,
            end_ms=end_ms,
            include_bots=request.include_bots,
            tz=tz.key,
            qr_ids=request.qr_ids,
        )
        return stats_filter, buckets

    async def code_stats(self, request: StatsRequest) -> CodeStats:
        stats_filter, _ = self._filter(request)
        columns = stats_queries.CODE_STATS_DIMENSIONS
        groups = _grouped(await self._rows(stats_queries.code_stats(stats_filter)), columns)
        if not groups[""]:  # no rows at all in range: ClickHouse returns nothing for ()
            total, uniques, bots, last_ms = 0, 0, 0, 0
        else:
            total, uniques, bots, last_ms = (int(value) for value in groups[""][0][-4:])

        def counted(name: str) -> list[tuple[str, int, int]]:
            index = 1 + columns.index(name)
            return [
                (str(row[index]), int(row[-4]), int(row[-3]))
                for row in groups[name]
                if int(row[-4]) > 0
            ]

        def top(name: str) -> str:
            ranked = sorted(
                (row for row in counted(name) if row[0]), key=lambda row: (-row[1], row[0])
            )
            return ranked[0][0] if ranked else ""

        return CodeStats(
            total_scans=total,
            unique_scans=uniques,
            bot_scans=bots,
            last_scan_at=rfc3339_ms(last_ms) if total else "",
            top_country=top("country"),
            top_city=top("city"),
            devices=with_all_keys(shares(counted("device"), total, "device"), DEVICES),
            os=with_all_keys(shares(counted("os"), total, "os"), OPERATING_SYSTEMS),
            browsers=shares(counted("browser"), total, "browser"),
        )

    async def time_series(self, request: StatsRequest, granularity: str) -> list[SeriesPoint]:
        stats_filter, buckets = self._filter(request, series_granularity=granularity)
        sql = stats_queries.time_series(stats_filter, parse_granularity(granularity))
        counts = {str(row[0]): (int(row[1]), int(row[2])) for row in await self._rows(sql)}
        return [SeriesPoint(bucket.period, *counts.get(bucket.key, (0, 0))) for bucket in buckets]

    async def breakdown(self, request: StatsRequest, dimension: str, limit: int) -> list[Share]:
        if dimension not in stats_queries.DIMENSIONS:
            raise ApiError(
                "INVALID_PARAMETER",
                "dimension must be one of " + ", ".join(stats_queries.DIMENSIONS),
                field="dimension",
            )
        stats_filter, _ = self._filter(request)
        rows = await self._rows(stats_queries.breakdown(stats_filter, dimension, _limit(limit)))
        return [
            Share(label(dimension, str(key)), int(scans), int(uniques), round(float(share), 2))
            for key, scans, uniques, share in rows
        ]

    async def overview(self, request: StatsRequest, top: int) -> AccountOverview:
        stats_filter, _ = self._filter(request)
        columns = stats_queries.OVERVIEW_DIMENSIONS
        groups = _grouped(await self._rows(stats_queries.overview_totals(stats_filter)), columns)
        total, uniques = (int(groups[""][0][-2]), int(groups[""][0][-1])) if groups[""] else (0, 0)
        codes = await self._rows(stats_queries.top_codes(stats_filter, min(_limit(top), 100)))
        since = month_start_ms(self._clock(), parse_tz(stats_filter.tz))
        this_month = await self._rows(stats_queries.scans_since(stats_filter, since))

        def counted(name: str) -> list[tuple[str, int, int]]:
            index = 1 + columns.index(name)
            return [(str(row[index]), int(row[-2]), int(row[-1])) for row in groups[name]]

        return AccountOverview(
            total_scans=total,
            unique_scans=uniques,
            top_codes=tuple(
                Share(str(qr), int(s), int(u), percent(int(s), total)) for qr, s, u in codes
            ),
            top_countries=shares(counted("country"), total, "country")[: _limit(top)],
            devices=with_all_keys(shares(counted("device"), total, "device"), DEVICES),
            scans_this_month=int(this_month[0][0]) if this_month else 0,
        )

    async def export_scans(
        self, request: StatsRequest, fmt: str, chunk_rows: int = EXPORT_CHUNK_ROWS
    ) -> AsyncIterator[tuple[bytes, int]]:
        """Every scan of one code in the range, oldest first, as ``(text, rows)`` chunks of
        whole rows in ``fmt`` (csv without header, or ndjson). Bots included: ``bot`` says.

        A chunk is read by key range -- its last row's ``(ts, event_id)`` is looked up first
        -- so each query reads only its own rows and no chunk holds more than ``chunk_rows``:
        memory stays flat however many scans the code has.
        """
        if self._raw is None:
            raise RuntimeError("ScanStats was built without a raw query runner")
        if not request.qr_id:
            raise ApiError("INVALID_PARAMETER", "qr_id is required", field="qr_id")
        if fmt not in stats_queries.EXPORT_FORMATS:
            raise ApiError(
                "INVALID_PARAMETER",
                "format must be one of " + ", ".join(stats_queries.EXPORT_FORMATS),
                field="format",
            )
        stats_filter, _ = self._filter(request)
        after: tuple[int, str] | None = None
        while True:
            ends = await self._rows(stats_queries.export_chunk_end(stats_filter, after, chunk_rows))
            end = (int(ends[0][0]), str(ends[0][1])) if ends else None
            sql = stats_queries.export_chunk(stats_filter, after, end)
            data = await self._raw(sql.text, sql.parameters, stats_queries.EXPORT_FORMATS[fmt])
            if data:
                # One line per row: the columns are single-line values (a referrer is a host).
                yield data, (chunk_rows if end is not None else data.count(b"\n"))
            if end is None:
                return
            after = end


def _limit(value: int) -> int:
    if value < 0:
        raise ApiError("INVALID_PARAMETER", "limit must not be negative", field="limit")
    return min(value or DEFAULT_LIMIT, MAX_LIMIT)
