"""Scan numbers from the analytics service: the stats routes fail as analytics failed (503 when
it is away), while a code's record and the usage page still answer, with unknown numbers as
``null`` (never a made-up zero)."""

from __future__ import annotations

from typing import Any

import grpc

from qrforge.v1 import analytics_pb2
from services.runtime.errors import ApiError
from tests.service.gateway.conftest import StartGateway, dead_address, new_account
from tests.service.gateway.fakes import Abort, FakeBackends
from tests.support.api_client import ApiClient
from tests.support.stack import ApiAccount

DOWN = Abort(grpc.StatusCode.UNAVAILABLE)


async def dynamic_code(api: ApiClient, name: str = "Poster") -> dict[str, Any]:
    body = {"name": name, "destination_url": "https://example.com/poster"}
    data: dict[str, Any] = (await api.create_dynamic(body)).data(201)
    return data


def share(key: str, scans: int, share: float) -> analytics_pb2.Share:
    return analytics_pb2.Share(key=key, scans=scans, unique_scans=scans // 2, share=share)


async def test_a_dynamic_codes_record_carries_its_scan_total(
    api: ApiClient, account: ApiAccount, backends: FakeBackends
) -> None:
    code = await dynamic_code(api)
    backends.analytics.code_stats[code["qr_id"]] = analytics_pb2.CodeStats(total_scans=42)
    assert (await api.get_code(code["qr_id"])).data()["total_scans"] == 42
    (asked,) = backends.analytics.script.requests("GetCodeStats")
    assert (asked.account_id, asked.qr_id) == (account.account_id, code["qr_id"])

    static = (await api.generate({"type": "text", "content": "x"})).data()
    record = (await api.get_code(static["qr_id"])).data()
    assert "total_scans" not in record
    assert len(backends.analytics.script.requests("GetCodeStats")) == 1  # not asked for it


async def test_analytics_away_leaves_records_readable_with_unknown_totals(
    start_gateway: StartGateway, account: ApiAccount, api: ApiClient
) -> None:
    code = await dynamic_code(api)
    gateway = (await start_gateway(ANALYTICS_ADDR=dead_address())).as_account(account)
    record = await gateway.get_code(code["qr_id"])
    assert record.status == 200
    assert record.data()["total_scans"] is None and record.data()["name"] == "Poster"
    changed = await gateway.set_destination(code["qr_id"], "https://example.com/summer")
    assert changed.data()["destination_url"] == "https://example.com/summer"
    assert changed.data()["total_scans"] is None
    stats = await gateway.stats(code["qr_id"])
    assert (stats.status, stats.error_code) == (503, "SERVICE_UNAVAILABLE")
    usage = (await gateway.usage()).data()
    assert usage["scans_this_month"] is None and usage["qr_codes"]["used"] == 1


async def test_a_slow_analytics_does_not_hold_a_record_for_long(
    api: ApiClient, backends: FakeBackends
) -> None:
    code = await dynamic_code(api)
    backends.analytics.script.delays["GetCodeStats"] = 2.0
    record = await api.get_code(code["qr_id"])
    assert record.status == 200 and record.data()["total_scans"] is None


async def test_usage_counts_codes_and_asks_analytics_for_the_month(
    gateway: ApiClient, backends: FakeBackends
) -> None:
    account = new_account(backends, max_codes=10, rate_limit_per_min=500)
    api = gateway.as_account(account)
    await dynamic_code(api)
    await api.generate({"type": "text", "content": "one"})
    await api.generate_barcode({"format": "CODE128", "value": "ABC-1"})
    backends.analytics.overview = analytics_pb2.AccountOverview(scans_this_month=7)
    answer = await api.usage()
    data = answer.data()
    assert data["plan"] == "pro" and data["scans_this_month"] == 7
    assert data["qr_codes"] == {"used": 2, "limit": 10} and data["barcodes"] == {"used": 1}
    assert data["rate_limit"]["limit"] == 500
    assert str(data["rate_limit"]["remaining"]) == answer.headers["X-RateLimit-Remaining"]
    (asked,) = backends.analytics.script.requests("GetAccountOverview")
    assert (asked.query.account_id, asked.query.tz) == (account.account_id, "UTC")


async def test_code_stats_shape_and_the_query_analytics_is_asked(
    api: ApiClient, backends: FakeBackends
) -> None:
    code = await dynamic_code(api)
    backends.analytics.code_stats[code["qr_id"]] = analytics_pb2.CodeStats(
        total_scans=10,
        unique_scans=6,
        bot_scans=2,
        last_scan_at="2026-03-12T10:30:00Z",
        top_country="FR",
        devices=[share("mobile", 7, 70.0), share("bot", 1, 10.0), share("desktop", 2, 20.0)],
        os=[share("ios", 5, 50.0), share("beos", 5, 50.0)],
        browsers=[share("safari", 10, 100.0)],
    )
    params = {"from": "2026-03-01", "to": "2026-03-31", "tz": "Europe/Paris", "include_bots": "1"}
    data = (await api.stats(code["qr_id"], **params)).data()
    assert data == {
        "qr_id": code["qr_id"],
        "total_scans": 10,
        "unique_scans": 6,
        "bot_scans": 2,
        "last_scan_at": "2026-03-12T10:30:00Z",
        "top_country": "FR",
        "top_city": None,
        "devices": {"mobile": 70.0, "desktop": 20.0, "tablet": 0.0, "other": 10.0},
        "os": {"ios": 50.0, "android": 0.0, "windows": 0.0, "macos": 0.0, "linux": 0.0,
               "other": 50.0},
        "browsers": {"safari": 100.0},
    }  # fmt: skip
    (asked,) = backends.analytics.script.requests("GetCodeStats")
    assert (asked.from_date, asked.to_date, asked.tz, asked.include_bots) == (
        "2026-03-01",
        "2026-03-31",
        "Europe/Paris",
        True,
    )


async def test_analytics_validation_errors_keep_their_field(
    api: ApiClient, backends: FakeBackends
) -> None:
    code = await dynamic_code(api)
    backends.analytics.script.failures["GetTimeSeries"] = ApiError(
        "INVALID_PARAMETER", "tz is not a known time zone", field="tz"
    )
    answer = await api.daily_stats(code["qr_id"], tz="Mars/Olympus")
    assert answer.status == 400
    assert answer.envelope["error"] == {
        "code": "INVALID_PARAMETER",
        "message": "tz is not a known time zone",
        "details": {"field": "tz"},
    }
    bots = await api.stats(code["qr_id"], include_bots="maybe")
    assert bots.status == 400 and bots.envelope["error"]["details"] == {"field": "include_bots"}
    assert backends.analytics.script.requests("GetCodeStats") == []


async def test_stats_of_a_code_not_in_the_account_are_404_without_asking_analytics(
    gateway: ApiClient, api: ApiClient, backends: FakeBackends
) -> None:
    theirs = await dynamic_code(gateway.as_account(new_account(backends)))
    for qr_id in (theirs["qr_id"], "qr_0000000000000000", "not-an-id"):
        answer = await api.stats(qr_id)
        assert (answer.status, answer.error_code) == (404, "QR_NOT_FOUND"), qr_id
    assert backends.analytics.script.calls == []


async def test_daily_series_and_breakdowns(api: ApiClient, backends: FakeBackends) -> None:
    code = await dynamic_code(api)
    backends.analytics.series = analytics_pb2.TimeSeries(
        series=[analytics_pb2.TimeSeriesPoint(period="2026-03-12T10:00", scans=3, unique_scans=2)]
    )
    daily = (await api.daily_stats(code["qr_id"], granularity="hour")).data()
    assert daily == {
        "granularity": "hour",
        "tz": "UTC",
        "series": [{"period": "2026-03-12T10:00", "scans": 3, "unique_scans": 2}],
    }
    backends.analytics.breakdowns["country"] = [share("FR", 4, 80.0), share("DE", 1, 20.0)]
    countries = await api.request("GET", f"/v1/qrcodes/{code['qr_id']}/stats/countries")
    assert countries.data() == [
        {"country": "FR", "scans": 4, "unique_scans": 2, "share": 80.0},
        {"country": "DE", "scans": 1, "unique_scans": 0, "share": 20.0},
    ]
    backends.analytics.breakdowns["browser"] = [share("firefox", 2, 100.0)]
    devices = (await api.request("GET", f"/v1/qrcodes/{code['qr_id']}/stats/devices")).data()
    assert devices["devices"] == [] and devices["os"] == []
    assert devices["browsers"] == [
        {"browser": "firefox", "scans": 2, "unique_scans": 1, "share": 100.0}
    ]
    asked = backends.analytics.script.requests("GetBreakdown")
    assert [(q.dimension, q.limit) for q in asked] == [
        ("country", 50),
        ("device", 50),
        ("os", 50),
        ("browser", 50),
    ]


async def test_overview_names_the_top_codes_from_the_catalog(
    api: ApiClient, backends: FakeBackends
) -> None:
    poster = await dynamic_code(api, "Poster")
    await api.generate({"type": "text", "content": "static one"})
    backends.analytics.overview = analytics_pb2.AccountOverview(
        total_scans=12,
        unique_scans=9,
        top_codes=[share(poster["qr_id"], 10, 83.3), share("qr_0000000000000000", 2, 16.7)],
        top_countries=[share("FR", 12, 100.0)],
        devices=[share("tablet", 12, 100.0)],
    )
    data = (await api.overview()).data()
    assert (data["total_codes"], data["static_codes"], data["dynamic_codes"]) == (2, 1, 1)
    assert (data["total_scans"], data["unique_scans"]) == (12, 9)
    assert data["top_codes"] == [
        {"qr_id": poster["qr_id"], "name": "Poster", "scans": 10},
        {"qr_id": "qr_0000000000000000", "name": None, "scans": 2},  # not this account's
    ]
    assert data["top_countries"] == [
        {"country": "FR", "scans": 12, "unique_scans": 6, "share": 100.0}
    ]
    assert data["devices"] == {"mobile": 0.0, "desktop": 0.0, "tablet": 100.0, "other": 0.0}
    backends.analytics.script.failures["GetAccountOverview"] = DOWN
    answer = await api.overview()
    assert (answer.status, answer.error_code) == (503, "SERVICE_UNAVAILABLE")
