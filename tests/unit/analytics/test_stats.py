from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from services.analytics.stats import (
    ScanStats,
    Share,
    StatsRequest,
    percent,
    rfc3339_ms,
    with_all_keys,
)
from services.runtime.errors import ApiError

NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


class FakeRunner:
    """Answers every query with the next canned result and records the SQL it was given."""

    def __init__(self, *results: list[tuple[Any, ...]]) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.calls.append((sql, dict(parameters)))
        return self.results.pop(0) if self.results else []


def stats(runner: FakeRunner) -> ScanStats:
    return ScanStats(runner, clock=lambda: NOW)


async def test_code_stats_shapes_grouping_sets() -> None:
    # g: 5-bit grouping mask over (country, city, device, os, browser); 31 = grand total.
    runner = FakeRunner(
        [
            (31, "", "", "", "", "", 10, 4, 3, 1773311400123),
            (15, "FR", "", "", "", "", 6, 3, 0, 0),
            (15, "", "", "", "", "", 4, 1, 3, 0),
            (23, "", "Paris", "", "", "", 6, 3, 0, 0),
            (27, "", "", "mobile", "", "", 7, 3, 0, 0),
            (27, "", "", "desktop", "", "", 3, 1, 0, 0),
            (27, "", "", "bot", "", "", 0, 0, 3, 0),
            (29, "", "", "", "ios", "", 7, 3, 0, 0),
            (29, "", "", "", "windows", "", 3, 1, 0, 0),
            (30, "", "", "", "", "Safari", 7, 3, 0, 0),
            (30, "", "", "", "", "Chrome", 3, 1, 0, 0),
        ]
    )
    result = await stats(runner).code_stats(StatsRequest(account_id="acc", qr_id="qr"))
    assert (result.total_scans, result.unique_scans, result.bot_scans) == (10, 4, 3)
    assert result.last_scan_at == "2026-03-12T10:30:00.123Z"
    assert (result.top_country, result.top_city) == ("FR", "Paris")
    assert [(s.key, s.scans, s.share) for s in result.devices] == [
        ("mobile", 7, 70.0),
        ("desktop", 3, 30.0),
        ("tablet", 0, 0.0),
        ("other", 0, 0.0),
    ]
    assert [s.key for s in result.os] == ["ios", "android", "windows", "macos", "linux", "other"]
    assert [(s.key, s.scans) for s in result.browsers] == [("Safari", 7), ("Chrome", 3)]
    sql, parameters = runner.calls[0]
    assert "FROM scans FINAL" in sql
    assert "account_id = {account:String}" in sql
    assert parameters["account"] == "acc"
    assert parameters["qr"] == "qr"
    assert parameters["include_bots"] is False


async def test_code_stats_of_a_code_never_scanned() -> None:
    result = await stats(FakeRunner([])).code_stats(StatsRequest(account_id="acc", qr_id="qr"))
    assert (result.total_scans, result.unique_scans, result.last_scan_at, result.top_country) == (
        0,
        0,
        "",
        "",
    )
    assert all(s.scans == 0 for s in result.devices)


async def test_time_series_is_zero_filled_in_the_callers_zone() -> None:
    runner = FakeRunner([("2026-03-11", 5, 2)])
    request = StatsRequest(
        account_id="acc", from_date="2026-03-10", to_date="2026-03-12", tz="Europe/Paris"
    )
    points = await stats(runner).time_series(request, "day")
    assert [(p.period, p.scans, p.unique_scans) for p in points] == [
        ("2026-03-10T00:00:00+01:00", 0, 0),
        ("2026-03-11T00:00:00+01:00", 5, 2),
        ("2026-03-12T00:00:00+01:00", 0, 0),
    ]
    sql, parameters = runner.calls[0]
    assert "toDate(ts, {tz:String})" in sql
    assert parameters["tz"] == "Europe/Paris"
    assert parameters["start"] == int(datetime(2026, 3, 9, 23, tzinfo=UTC).timestamp() * 1000)
    assert parameters["end"] == int(datetime(2026, 3, 12, 23, tzinfo=UTC).timestamp() * 1000)
    assert "NOT is_bot" in sql


async def test_open_series_ends_today() -> None:
    points = await stats(FakeRunner([])).time_series(StatsRequest(account_id="acc"), "day")
    assert len(points) == 30
    assert points[-1].period == "2026-03-12T00:00:00Z"


async def test_breakdown_labels_empty_values() -> None:
    runner = FakeRunner([("", 3, 2, 75.0), ("google.com", 1, 1, 25.0)])
    rows = await stats(runner).breakdown(
        StatsRequest(account_id="acc", include_bots=True), "referrer", 0
    )
    assert rows == [Share("direct", 3, 2, 75.0), Share("google.com", 1, 1, 25.0)]
    sql, parameters = runner.calls[0]
    assert parameters["limit"] == 10
    assert "NOT is_bot" not in sql


async def test_overview_combines_its_queries() -> None:
    runner = FakeRunner(
        [(3, "", "", 8, 5), (1, "US", "", 6, 4), (1, "", "", 2, 1), (2, "", "mobile", 8, 5)],
        [("qr_b", 6, 4), ("qr_a", 2, 1)],
        [(4,)],
    )
    overview = await stats(runner).overview(StatsRequest(account_id="acc"), 5)
    assert (overview.total_scans, overview.unique_scans, overview.scans_this_month) == (8, 5, 4)
    assert [(s.key, s.scans, s.share) for s in overview.top_codes] == [
        ("qr_b", 6, 75.0),
        ("qr_a", 2, 25.0),
    ]
    assert [(s.key, s.scans) for s in overview.top_countries] == [("US", 6), ("unknown", 2)]
    assert overview.devices[0] == Share("mobile", 8, 5, 100.0)
    _, month_parameters = runner.calls[2]
    assert month_parameters["since"] == int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (StatsRequest(account_id=""), "account_id"),
        (StatsRequest(account_id="acc", tz="Nowhere/Land"), "tz"),
        (StatsRequest(account_id="acc", from_date="2026-13-01"), "from"),
        (StatsRequest(account_id="acc", to_date="tomorrow"), "to"),
        (StatsRequest(account_id="acc", from_date="2026-03-12", to_date="2026-03-01"), "from"),
    ],
)
async def test_bad_parameters_name_their_field(request_: StatsRequest, field: str) -> None:
    runner = FakeRunner()
    with pytest.raises(ApiError) as caught:
        await stats(runner).code_stats(request_)
    assert (caught.value.code, caught.value.field) == ("INVALID_PARAMETER", field)
    assert runner.calls == []


async def test_bad_granularity_dimension_and_limit() -> None:
    service = stats(FakeRunner())
    with pytest.raises(ApiError) as caught:
        await service.time_series(StatsRequest(account_id="acc"), "fortnight")
    assert caught.value.field == "granularity"
    with pytest.raises(ApiError) as caught:
        await service.breakdown(StatsRequest(account_id="acc"), "planet", 10)
    assert caught.value.field == "dimension"
    with pytest.raises(ApiError) as caught:
        await service.breakdown(StatsRequest(account_id="acc"), "country", -1)
    assert caught.value.field == "limit"


def test_helpers() -> None:
    assert percent(1, 3) == 33.33
    assert percent(5, 0) == 0.0
    assert rfc3339_ms(0) == ""
    assert rfc3339_ms(1773311400005) == "2026-03-12T10:30:00.005Z"
    assert [s.key for s in with_all_keys((Share("bot", 1, 1, 100.0),), ("mobile", "desktop"))] == [
        "mobile",
        "desktop",
        "bot",
    ]


@pytest.mark.parametrize("dimension", ["rule", "variant"])
async def test_route_breakdowns_keep_the_default_as_empty_key(dimension: str) -> None:
    runner = FakeRunner([("1", 3, 2, 60.0), ("", 2, 2, 40.0)])
    rows = await stats(runner).breakdown(StatsRequest(account_id="acc"), dimension, 50)
    assert rows == [Share("1", 3, 2, 60.0), Share("", 2, 2, 40.0)]
    assert f"ifNull(toString({dimension}), '')" in runner.calls[0][0]
