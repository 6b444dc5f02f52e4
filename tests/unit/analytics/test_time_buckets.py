from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.analytics.time_buckets import (
    Granularity,
    bucket_keys,
    day_bounds_ms,
    month_start_ms,
    parse_day,
    parse_granularity,
    parse_tz,
    series_range,
)
from services.runtime.errors import ApiError

PARIS = ZoneInfo("Europe/Paris")


def field_of(error: pytest.ExceptionInfo[ApiError]) -> str | None:
    assert error.value.code == "INVALID_PARAMETER"
    return error.value.field


def test_time_zones() -> None:
    assert parse_tz("").key == "UTC"
    assert parse_tz("Europe/Paris").key == "Europe/Paris"
    for bad in ("Mars/Base", "../etc/passwd", "/etc/localtime", "Europe/"):
        with pytest.raises(ApiError) as caught:
            parse_tz(bad)
        assert field_of(caught) == "tz"


def test_granularity() -> None:
    assert parse_granularity("") is Granularity.DAY
    assert parse_granularity("week") is Granularity.WEEK
    with pytest.raises(ApiError) as caught:
        parse_granularity("minute")
    assert field_of(caught) == "granularity"


def test_days_accept_dates_and_datetimes() -> None:
    assert parse_day("", "from", PARIS) is None
    assert parse_day("2026-03-12", "from", PARIS) == date(2026, 3, 12)
    # 23:30 UTC is already the next day in Paris.
    assert parse_day("2026-03-12T23:30:00Z", "to", PARIS) == date(2026, 3, 13)
    assert parse_day("2026-03-12T23:30:00", "to", PARIS) == date(2026, 3, 12)
    with pytest.raises(ApiError) as caught:
        parse_day("12/03/2026", "to", PARIS)
    assert field_of(caught) == "to"


def test_day_bounds_are_local_midnights_in_utc() -> None:
    start, end = day_bounds_ms(date(2026, 3, 12), date(2026, 3, 12), PARIS)
    assert start == int(datetime(2026, 3, 11, 23, 0, tzinfo=UTC).timestamp() * 1000)
    assert end == int(datetime(2026, 3, 12, 23, 0, tzinfo=UTC).timestamp() * 1000)
    scan = int(datetime(2026, 3, 11, 23, 30, tzinfo=UTC).timestamp() * 1000)
    assert start is not None and end is not None and start <= scan < end
    assert day_bounds_ms(None, None, PARIS) == (None, None)


def test_day_buckets_cover_every_day_with_the_local_offset() -> None:
    buckets = bucket_keys(Granularity.DAY, date(2026, 3, 28), date(2026, 3, 30), PARIS)
    assert [b.key for b in buckets] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert [b.period for b in buckets] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]


def test_hour_buckets_follow_dst() -> None:
    spring = bucket_keys(Granularity.HOUR, date(2026, 3, 29), date(2026, 3, 29), PARIS)
    autumn = bucket_keys(Granularity.HOUR, date(2026, 10, 25), date(2026, 10, 25), PARIS)
    normal = bucket_keys(Granularity.HOUR, date(2026, 3, 12), date(2026, 3, 12), PARIS)
    assert (len(spring), len(autumn), len(normal)) == (23, 25, 24)
    assert normal[0].key == str(int(datetime(2026, 3, 11, 23, 0, tzinfo=UTC).timestamp()))
    assert normal[0].period == "2026-03-12T00:00:00+01:00"
    assert [b.period for b in autumn[2:4]] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]


def test_utc_periods_use_z() -> None:
    [bucket] = bucket_keys(Granularity.DAY, date(2026, 3, 12), date(2026, 3, 12), ZoneInfo("UTC"))
    assert bucket.period == "2026-03-12T00:00:00Z"


def test_week_buckets_start_on_monday() -> None:
    buckets = bucket_keys(Granularity.WEEK, date(2026, 3, 12), date(2026, 3, 24), PARIS)
    assert [b.key for b in buckets] == ["2026-03-09", "2026-03-16", "2026-03-23"]


def test_month_buckets_cross_years() -> None:
    buckets = bucket_keys(Granularity.MONTH, date(2025, 11, 15), date(2026, 2, 1), PARIS)
    assert [b.key for b in buckets] == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]


def test_too_many_buckets_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        bucket_keys(Granularity.HOUR, date(2024, 1, 1), date(2026, 1, 1), PARIS)
    assert field_of(caught) == "from"


def test_series_range_defaults() -> None:
    today = date(2026, 3, 12)
    assert series_range(None, None, Granularity.DAY, today) == (date(2026, 2, 11), today)
    assert series_range(None, None, Granularity.HOUR, today) == (today, today)
    assert series_range(None, None, Granularity.MONTH, today) == (date(2025, 3, 1), today)
    assert series_range(date(2026, 3, 1), None, Granularity.DAY, today) == (date(2026, 3, 1), today)
    assert series_range(None, date(2026, 1, 10), Granularity.DAY, today) == (
        date(2025, 12, 12),
        date(2026, 1, 10),
    )
    with pytest.raises(ApiError) as caught:
        series_range(date(2026, 3, 12), date(2026, 3, 1), Granularity.DAY, today)
    assert field_of(caught) == "from"


def test_month_start_is_in_the_callers_zone() -> None:
    # 23:30 UTC on 31 March is already April in Paris.
    now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert month_start_ms(now, PARIS) == int(
        datetime(2026, 3, 31, 22, 0, tzinfo=UTC).timestamp() * 1000
    )
    assert month_start_ms(now, ZoneInfo("UTC")) == int(
        datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000
    )
