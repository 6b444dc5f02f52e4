"""What a ``scan.created`` webhook carries: the shape of API.md, shared with the live stream."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from services.gateway.stream.sse import scan_event
from services.runtime.enriched_scans import EnrichedScan, encode_batch
from services.webhooks.events import scan_events

PARIS = timezone(timedelta(hours=1))


def _scan(**fields: object) -> EnrichedScan:
    values: dict[str, object] = {
        "event_id": "e1",
        "account_id": "acc_1",
        "qr_id": "qr_1",
        "scanned_at": datetime(2026, 3, 12, 11, 30, 0, 123456, tzinfo=PARIS),
        "country": "FR",
        "city": "Lyon",
        "device": "mobile",
        "os": "ios",
        "browser": "safari",
        "referrer_host": "news.example",
        "rule": 2,
        "variant": None,
    }
    values.update(fields)
    return EnrichedScan(**values)  # type: ignore[arg-type]


def _webhook_body(scan: EnrichedScan) -> dict[str, object]:
    [event] = scan_events(encode_batch([scan]))
    assert (event.event_type, event.qr_id, event.account_id) == ("scan.created", "qr_1", "acc_1")
    body: dict[str, object] = json.loads(event.body)
    return body


def test_scan_created_carries_the_documented_fields_and_no_account_or_ip() -> None:
    body = _webhook_body(_scan())
    assert body["type"] == "scan.created"
    assert body["data"] == {
        "qr_id": "qr_1",
        "scanned_at": "2026-03-12T10:30:00.123456Z",
        "country": "FR",
        "city": "Lyon",
        "device": "mobile",
        "os": "ios",
        "browser": "safari",
        "referrer_host": "news.example",
        "bot": False,
        "rule": 2,
        "variant": None,
    }


def test_unknown_values_are_null_as_in_the_live_stream() -> None:
    scan = _scan(country="", city="", referrer_host="")
    data = _webhook_body(scan)["data"]
    assert isinstance(data, dict)
    assert (data["country"], data["city"], data["referrer_host"]) == (None, None, None)
    streamed = scan_event(scan).split(b"data: ", 1)[1]
    assert json.loads(streamed) == data
