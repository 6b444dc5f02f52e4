"""Calendar arithmetic for stats queries, in the caller's IANA time zone: parsing ``tz``,
``from``/``to`` (inclusive days), and the complete list of buckets a time series must show.

Zero-filling happens here, not with ClickHouse's ``WITH FILL`` (which fills every second on a
DateTime without an explicit STEP and knows nothing about DST): the database returns only the
buckets that have scans, keyed exactly like :func:`bucket_keys`, and the series is this list
with the counts looked up.

Bucket keys, matching the SQL of :mod:`services.analytics.stats_queries`:

- ``hour``: the Unix time (seconds, as a string) of the start of the local hour;
- ``day``: the local date ``YYYY-MM-DD``;
- ``week``: the local date of the ISO week's Monday;
- ``month``: the local date of the first of the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.runtime.errors import ApiError

MAX_BUCKETS: Final = 10_000
"""A little over a year of hours; longer ranges must use a coarser granularity."""

DEFAULT_SPAN_DAYS: Final = {"hour": 1, "day": 30, "week": 7 * 12, "month": 366}
"""How far back an open ``from`` reaches for a time series, ending at ``to`` (default today)."""


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    period: str  # RFC 3339 start of the bucket, with the zone's offset at that instant


def parse_tz(name: str) -> ZoneInfo:
    """An IANA zone; empty means UTC."""
    if not name:
        return ZoneInfo("UTC")
    try:
        if name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ApiError(
            "INVALID_PARAMETER",
            f"Unknown time zone {name!r}: use an IANA name such as Europe/Paris",
            field="tz",
        ) from None


def parse_granularity(value: str) -> Granularity:
    """``hour``, ``day``, ``week`` or ``month``; empty means ``day``."""
    try:
        return Granularity(value or "day")
    except ValueError:
        raise ApiError(
            "INVALID_PARAMETER",
            "granularity must be one of hour, day, week, month",
            field="granularity",
        ) from None


# Scans cannot predate the Unix epoch; the upper bound keeps bucket arithmetic far from
# datetime's limits (year 9999) whatever the time zone.
MIN_DAY: Final = date(1970, 1, 1)
MAX_DAY: Final = date(2199, 12, 31)


def parse_day(value: str, field: str, tz: ZoneInfo) -> date | None:
    """An ISO date, or an ISO datetime standing for its day in ``tz``; empty means open."""
    if not value:
        return None
    invalid = ApiError(
        "INVALID_PARAMETER",
        f"{field} must be a date (YYYY-MM-DD) or an ISO datetime from {MIN_DAY} to {MAX_DAY}",
        field=field,
    )
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
        else:
            moment = datetime.fromisoformat(value.replace("z", "Z"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(tz)
            day = moment.date()
    except (ValueError, OverflowError):
        raise invalid from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise invalid
    return day


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def day_bounds_ms(
    first: date | None, last: date | None, tz: ZoneInfo
) -> tuple[int | None, int | None]:
    """UTC milliseconds of ``[start of first, start of the day after last)`` in ``tz``."""
    start = None if first is None else int(local_midnight(first, tz).timestamp() * 1000)
    end = (
        None
        if last is None
        else int(local_midnight(last + timedelta(days=1), tz).timestamp() * 1000)
    )
    return start, end


def check_order(first: date | None, last: date | None) -> None:
    if first is not None and last is not None and first > last:
        raise ApiError("INVALID_PARAMETER", "from must not be after to", field="from")


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def series_range(
    first: date | None, last: date | None, granularity: Granularity, today: date
) -> tuple[date, date]:
    """The days a series covers when ``from``/``to`` may be open: ``to`` defaults to today,
    ``from`` to a default span before ``to`` (or to ``from`` itself when that is later)."""
    end = last if last is not None else max(today, first) if first is not None else today
    start = first if first is not None else end - timedelta(days=DEFAULT_SPAN_DAYS[granularity] - 1)
    if granularity is Granularity.MONTH and first is None:
        start = _month_start(start)
    check_order(start, end)
    return start, end


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def bucket_keys(granularity: Granularity, first: date, last: date, tz: ZoneInfo) -> list[Bucket]:
    """Every bucket touching the days ``first``..``last`` (inclusive) in ``tz``, in order.

    Hours are stepped in UTC from local midnight, so a DST change gives 23 or 25 hourly
    buckets and the repeated local hour appears twice with its two offsets.
    """
    buckets: list[Bucket] = []
    if granularity is Granularity.HOUR:
        start = local_midnight(first, tz).astimezone(UTC)
        end = local_midnight(last + timedelta(days=1), tz).astimezone(UTC)
        count = int((end - start).total_seconds() // 3600)
        _check_size(count)
        for step in range(count):
            moment = start + timedelta(hours=step)
            buckets.append(Bucket(str(int(moment.timestamp())), _rfc3339(moment.astimezone(tz))))
        return buckets
    if granularity is Granularity.DAY:
        _check_size((last - first).days + 1)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    elif granularity is Granularity.WEEK:
        monday = first - timedelta(days=first.weekday())
        _check_size((last - monday).days // 7 + 1)
        days = [monday + timedelta(days=7 * n) for n in range((last - monday).days // 7 + 1)]
    else:
        days = []
        cursor = _month_start(first)
        while cursor <= last:
            days.append(cursor)
            cursor = _next_month(cursor)
        _check_size(len(days))
    return [Bucket(day.isoformat(), _rfc3339(local_midnight(day, tz))) for day in days]


def _check_size(count: int) -> None:
    if count > MAX_BUCKETS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"The range holds {count} buckets (at most {MAX_BUCKETS}): use a coarser granularity",
            field="from",
        )


def month_start_ms(now: datetime, tz: ZoneInfo) -> int:
    """UTC milliseconds of the start of the current month in ``tz``."""
    local = now.astimezone(tz)
    return int(local_midnight(local.date().replace(day=1), tz).timestamp() * 1000)
