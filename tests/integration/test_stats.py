"""Scan statistics through the gateway: events on the ``scans`` exchange (the redirect
service's wire format) → analytics → ClickHouse → every stats route, scoped by account."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika

from services.runtime.scan_events import ScanEvent
from services.runtime.topics import SCAN_RECORDED, SCANS_EXCHANGE
from tests.support.api_client import ApiClient
from tests.support.polling import eventually
from tests.support.stack import Stack

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _event(
    qr_id: str, account_id: str, ip: str, ua: str, when: datetime, referer: str = ""
) -> ScanEvent:
    return ScanEvent(
        event_id=uuid.uuid4().hex,
        qr_id=qr_id,
        account_id=account_id,
        ts=when.replace(microsecond=when.microsecond // 1000 * 1000),
        ip=ip,
        user_agent=ua,
        referer=referer,
        accept_language="fr-FR,fr;q=0.9",
    )


async def _publish(stack: Stack, events: list[ScanEvent]) -> None:
    connection = await aio_pika.connect_robust(stack.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            SCANS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for start in range(0, len(events), 10):
            body = json.dumps({"v": 1, "events": [e.to_json() for e in events[start : start + 10]]})
            await exchange.publish(
                aio_pika.Message(body.encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=SCAN_RECORDED,
            )


async def test_stats_routes_match_what_was_scanned(stack: Stack, api: ApiClient) -> None:
    owner_account = stack.create_account("stats-owner")
    owner = api.as_account(owner_account)
    stranger = api.as_account(stack.create_account("stats-stranger"))
    created = await owner.create_dynamic(
        {"name": "Poster", "destination_url": "https://example.com/poster"}
    )
    qr_id = created.data(201)["qr_id"]

    now = datetime.now(UTC).replace(microsecond=0)
    late_evening = (now - timedelta(days=1)).replace(hour=23, minute=30, second=0)
    events = (
        [
            _event(qr_id, owner_account.account_id, "8.8.8.8", IPHONE, now - timedelta(minutes=i))
            for i in range(3)
        ]
        + [
            _event(
                qr_id,
                owner_account.account_id,
                "81.2.69.160",
                WINDOWS,
                now,
                "https://news.example.org/a",
            )
        ]
        + [_event(qr_id, owner_account.account_id, "81.2.69.161", WINDOWS, late_evening)]
        + [_event(qr_id, owner_account.account_id, "66.249.66.1", GOOGLEBOT, now)]
    )
    await _publish(stack, events)

    base = f"/v1/qrcodes/{qr_id}/stats"

    async def all_counted() -> Any:
        stats = (await owner.stats(qr_id)).data()
        return stats if stats["total_scans"] >= 5 else None

    stats = await eventually(all_counted, 10, "5 scans in the stats")
    assert stats["total_scans"] == 5  # the Googlebot scan is not a person
    assert stats["unique_scans"] == 3  # one iPhone visitor, two Windows visitors
    assert stats["bot_scans"] == 1
    assert stats["devices"]["mobile"] == 60.0 and stats["devices"]["desktop"] == 40.0
    assert stats["os"]["ios"] == 60.0 and stats["os"]["windows"] == 40.0
    assert stats["top_country"] == "US"
    with_bots = (await owner.stats(qr_id, include_bots="true")).data()
    assert with_bots["total_scans"] == 6

    countries = (await owner.request("GET", f"{base}/countries")).data()
    assert {row["country"]: row["scans"] for row in countries} == {"US": 3, "GB": 2}
    referrers = (await owner.request("GET", f"{base}/referrers")).data()
    assert {row["referrer"]: row["scans"] for row in referrers} == {
        "news.example.org": 1,
        "direct": 4,
    }
    devices = (await owner.request("GET", f"{base}/devices")).data()
    device_scans = {row["device"]: row["scans"] for row in devices["devices"]}
    assert device_scans["mobile"] == 3 and device_scans["desktop"] == 2

    day = (
        await owner.daily_stats(
            qr_id, granularity="day", tz="Europe/Paris",
            **{"from": (now - timedelta(days=3)).date().isoformat(), "to": (now + timedelta(days=1)).date().isoformat()},
        )
    ).data()  # fmt: skip
    assert len(day["series"]) == 5 and day["tz"] == "Europe/Paris"
    by_day = {point["period"][:10]: point["scans"] for point in day["series"]}
    # Each person's scan lands on its Paris calendar day: 23:30 UTC is already the next day.
    paris = ZoneInfo("Europe/Paris")
    expected: dict[str, int] = {}
    for event in events[:5]:
        moment = event.ts.astimezone(paris)
        expected[moment.date().isoformat()] = expected.get(moment.date().isoformat(), 0) + 1
    assert late_evening.astimezone(paris).date() > late_evening.date()
    assert {d: n for d, n in by_day.items() if n} == expected
    assert sum(by_day.values()) == 5

    overview = (await owner.overview()).data()
    assert overview["total_scans"] == 5 and overview["dynamic_codes"] == 1
    assert overview["top_codes"][0] == {"qr_id": qr_id, "name": "Poster", "scans": 5}

    resp = await stranger.stats(qr_id)
    assert resp.status == 404 and resp.error_code == "QR_NOT_FOUND"
    resp = await owner.daily_stats(qr_id, tz="Mars/Olympus")
    assert resp.status == 400 and resp.envelope["error"]["details"]["field"] == "tz"
    assert (await owner.get_code(qr_id)).envelope["data"]["total_scans"] == 5
