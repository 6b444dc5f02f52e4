"""Every RPC checked against what was published: counts, uniques, bots, countries, devices,
referrers, time zones, zero-filled buckets, account scoping and parameter errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from tests.service.analytics.harness import Client, Publisher, make_event, new_account, wait_total
from tests.unit.runtime.test_user_agents import (
    ANDROID_PHONE,
    GOOGLEBOT,
    IPAD_SAFARI,
    IPHONE_SAFARI,
    LINUX_FIREFOX,
    MAC_SAFARI,
    WHATSAPP_PREVIEW,
    WINDOWS_CHROME,
)

DAY = datetime(2026, 3, 10, tzinfo=UTC)
IE_IPV6 = "2a00:1450:4007:80e::200e"


@pytest.fixture(scope="module")
def account() -> str:
    return new_account()


@pytest.fixture(scope="module")
def other_account() -> str:
    return new_account()


@pytest.fixture(scope="module")
async def published(publisher: Publisher, client: Client, account: str, other_account: str) -> None:
    at = DAY.replace
    events = [
        # qr_A, people: 7 scans, 4 visitors.
        *[make_event(account, "qr_A", at(hour=10, minute=n), ip="8.8.8.8", user_agent=IPHONE_SAFARI,
                     referer="https://www.google.com/search?q=menu") for n in range(3)],
        *[make_event(account, "qr_A", at(hour=12, minute=n), ip="81.2.69.142", user_agent=WINDOWS_CHROME)
          for n in range(2)],
        make_event(account, "qr_A", at(hour=23, minute=30), ip=IE_IPV6, user_agent=IPAD_SAFARI),
        make_event(account, "qr_A", DAY + timedelta(days=2, hours=8), ip="10.0.0.1", user_agent=ANDROID_PHONE),
        # qr_A, bots and link previews: 3.
        *[make_event(account, "qr_A", at(hour=9, minute=n), ip="66.249.66.1", user_agent=GOOGLEBOT) for n in range(2)],
        make_event(account, "qr_A", at(hour=9, minute=5), ip="31.13.66.1", user_agent=WHATSAPP_PREVIEW),
        # qr_B: 2 scans, 1 visitor.
        *[make_event(account, "qr_B", at(hour=15, minute=n), ip="8.8.4.4", user_agent=MAC_SAFARI) for n in range(2)],
        # qr_C: one scan now (this month).
        make_event(account, "qr_C", datetime.now(UTC), ip="1.1.1.1", user_agent=LINUX_FIREFOX),
        # Another account using the same code id: never visible to ``account``.
        *[make_event(other_account, "qr_A", at(hour=11, minute=n), ip="8.8.8.8", user_agent=IPHONE_SAFARI)
          for n in range(5)],
    ]  # fmt: skip
    await publisher.publish(events, per_message=4)
    await wait_total(client, account, 10, include_bots=True)
    await wait_total(client, other_account, 5)


@pytest.mark.usefixtures("published")
async def test_code_stats_count_people_not_bots(client: Client, account: str) -> None:
    stats = await client.code_stats(account, "qr_A")
    assert (stats.total_scans, stats.unique_scans, stats.bot_scans) == (7, 4, 3)
    assert stats.last_scan_at == "2026-03-12T08:00:00.000Z"
    assert (stats.top_country, stats.top_city) == ("US", "")
    assert [(d.key, d.scans, d.unique_scans, d.share) for d in stats.devices] == [
        ("mobile", 4, 2, 57.14),
        ("desktop", 2, 1, 28.57),
        ("tablet", 1, 1, 14.29),
        ("other", 0, 0, 0.0),
    ]
    assert {o.key: o.scans for o in stats.os} == {
        "ios": 4,
        "android": 1,
        "windows": 2,
        "macos": 0,
        "linux": 0,
        "other": 0,
    }
    assert [(b.key, b.scans) for b in stats.browsers] == [("Safari", 4), ("Chrome", 3)]


@pytest.mark.usefixtures("published")
async def test_code_stats_with_bots(client: Client, account: str) -> None:
    stats = await client.code_stats(account, "qr_A", include_bots=True)
    assert (stats.total_scans, stats.unique_scans, stats.bot_scans) == (10, 6, 3)
    assert {d.key: d.scans for d in stats.devices} == {
        "mobile": 4,
        "desktop": 2,
        "tablet": 1,
        "other": 0,
        "bot": 3,
    }
    assert stats.top_country == "US"


@pytest.mark.usefixtures("published")
async def test_a_scan_at_2330_utc_is_the_next_day_in_paris(client: Client, account: str) -> None:
    days = ("2026-03-09", "2026-03-12")
    paris = await client.series(
        account, "day", qr_id="qr_A", from_date=days[0], to_date=days[1], tz="Europe/Paris"
    )
    assert paris == [
        ("2026-03-09T00:00:00+01:00", 0, 0),
        ("2026-03-10T00:00:00+01:00", 5, 2),
        ("2026-03-11T00:00:00+01:00", 1, 1),
        ("2026-03-12T00:00:00+01:00", 1, 1),
    ]
    utc = await client.series(account, "day", qr_id="qr_A", from_date=days[0], to_date=days[1])
    assert [point[1] for point in utc] == [0, 6, 0, 1]
    bots = await client.series(
        account, "day", qr_id="qr_A", from_date=days[0], to_date=days[1], include_bots=True
    )
    assert [point[1] for point in bots] == [0, 9, 0, 1]


@pytest.mark.usefixtures("published")
async def test_hour_week_and_month_buckets_are_all_present(client: Client, account: str) -> None:
    hours = await client.series(
        account, "hour", qr_id="qr_A", from_date="2026-03-10", to_date="2026-03-10"
    )
    assert len(hours) == 24
    assert {period: scans for period, scans, _ in hours if scans} == {
        "2026-03-10T10:00:00Z": 3,
        "2026-03-10T12:00:00Z": 2,
        "2026-03-10T23:00:00Z": 1,
    }
    weeks = await client.series(
        account, "week", from_date="2026-03-01", to_date="2026-03-20", tz="Europe/Paris"
    )
    assert weeks == [
        ("2026-02-23T00:00:00+01:00", 0, 0),
        ("2026-03-02T00:00:00+01:00", 0, 0),
        ("2026-03-09T00:00:00+01:00", 9, 5),
        ("2026-03-16T00:00:00+01:00", 0, 0),
    ]
    months = await client.series(
        account, "month", qr_id="qr_A", from_date="2026-01-15", to_date="2026-04-01"
    )
    assert [(period, scans) for period, scans, _ in months] == [
        ("2026-01-01T00:00:00Z", 0),
        ("2026-02-01T00:00:00Z", 0),
        ("2026-03-01T00:00:00Z", 7),
        ("2026-04-01T00:00:00Z", 0),
    ]


@pytest.mark.usefixtures("published")
async def test_breakdowns(client: Client, account: str) -> None:
    countries = await client.breakdown(account, "country", qr_id="qr_A")
    assert countries == [
        ("US", 3, 1, 42.86),
        ("GB", 2, 1, 28.57),
        ("IE", 1, 1, 14.29),
        ("unknown", 1, 1, 14.29),
    ]
    referrers = await client.breakdown(account, "referrer", qr_id="qr_A")
    assert referrers == [("direct", 4, 3, 57.14), ("google.com", 3, 1, 42.86)]
    cities = await client.breakdown(account, "city", qr_id="qr_A")
    assert cities == [("unknown", 7, 4, 100.0)]
    devices = await client.breakdown(account, "device", qr_id="qr_A", include_bots=True)
    assert [(key, scans) for key, scans, _, _ in devices] == [
        ("mobile", 4),
        ("bot", 3),
        ("desktop", 2),
        ("tablet", 1),
    ]
    browsers = await client.breakdown(account, "browser", qr_id="qr_A")
    assert [(key, scans) for key, scans, _, _ in browsers] == [("Safari", 4), ("Chrome", 3)]
    oses = await client.breakdown(account, "os", qr_id="qr_A")
    assert [(key, scans) for key, scans, _, _ in oses] == [
        ("ios", 4),
        ("windows", 2),
        ("android", 1),
    ]


@pytest.mark.usefixtures("published")
async def test_date_filters_are_inclusive_days_in_the_zone(client: Client, account: str) -> None:
    paris_11th = await client.code_stats(
        account, "qr_A", from_date="2026-03-11", to_date="2026-03-11", tz="Europe/Paris"
    )
    assert paris_11th.total_scans == 1  # the 23:30 UTC iPad scan
    utc_10th = await client.code_stats(
        account, "qr_A", from_date="2026-03-10", to_date="2026-03-10"
    )
    assert utc_10th.total_scans == 6


@pytest.mark.usefixtures("published")
async def test_account_overview(client: Client, account: str) -> None:
    overview = await client.overview(account)
    assert (overview.total_scans, overview.unique_scans, overview.scans_this_month) == (10, 6, 1)
    assert [(c.key, c.scans) for c in overview.top_codes] == [("qr_A", 7), ("qr_B", 2), ("qr_C", 1)]
    assert [(c.key, c.scans) for c in overview.top_countries] == [
        ("US", 5),
        ("GB", 2),
        ("AU", 1),
        ("IE", 1),
        ("unknown", 1),
    ]
    assert {d.key: d.scans for d in overview.devices} == {
        "mobile": 4,
        "desktop": 5,
        "tablet": 1,
        "other": 0,
    }
    whole_account = await client.code_stats(account)
    assert whole_account.total_scans == 10


@pytest.mark.usefixtures("published")
async def test_queries_are_scoped_by_account(
    client: Client, account: str, other_account: str
) -> None:
    theirs = await client.code_stats(other_account, "qr_A")
    assert (theirs.total_scans, theirs.unique_scans) == (5, 1)
    assert (await client.code_stats(other_account, "qr_B")).total_scans == 0
    assert (await client.overview(other_account)).total_scans == 5
    nobody = await client.code_stats(new_account(), "qr_A")
    assert (nobody.total_scans, nobody.last_scan_at, nobody.top_country) == (0, "", "")


@pytest.mark.parametrize(
    ("query", "granularity", "field"),
    [
        ({"tz": "Mars/Olympus"}, "day", "tz"),
        ({}, "fortnight", "granularity"),
        ({"from_date": "2026-02-30"}, "day", "from"),
        ({"to_date": "soon"}, "day", "to"),
        ({"from_date": "2026-03-12", "to_date": "2026-03-01"}, "day", "from"),
    ],
)
async def test_bad_parameters_are_invalid_parameter_with_their_field(
    client: Client, query: dict[str, str], granularity: str, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.series(new_account(), granularity, **query)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    metadata = dict(caught.value.trailing_metadata() or ())
    assert metadata["qrforge-error-code"] == "INVALID_PARAMETER"
    assert f'"field":"{field}"' in str(metadata["qrforge-error-details"])
