"""SSE frames of a scan: what an EventSource parses from them is the event, its id and the
``scan.created`` data, never the account, an IP or a visitor hash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from services.gateway.stream import sse
from services.runtime.enriched_scans import EnrichedScan

SCANNED_AT = datetime(2026, 3, 12, 10, 30, 0, 123456, tzinfo=UTC)


def parse_event(frame: bytes) -> dict[str, Any]:
    """The fields of one event as the WHATWG parser reads them (line by line, ``name: value``,
    a blank line ends the event)."""
    text = frame.decode()
    assert text.endswith("\n\n") and "\n\n" not in text[:-2], text
    fields: dict[str, Any] = {}
    for line in text[:-2].split("\n"):
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    return fields


def a_scan(**changes: Any) -> EnrichedScan:
    values: dict[str, Any] = {
        "event_id": "evt1",
        "account_id": "acc_secret",
        "qr_id": "qr_abc",
        "scanned_at": SCANNED_AT,
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
    return EnrichedScan(**{**values, **changes})


def test_a_scan_is_one_event_with_its_id_and_the_scan_created_data() -> None:
    fields = parse_event(sse.scan_event(a_scan()))
    assert fields["event"] == ["scan"]
    assert fields["id"] == ["evt1"]
    assert len(fields["data"]) == 1
    assert json.loads(fields["data"][0]) == {
        "qr_id": "qr_abc",
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
    assert b"acc_secret" not in sse.scan_event(a_scan())


def test_unknown_values_are_null_and_times_are_utc() -> None:
    paris = timezone(timedelta(hours=1))
    scan = a_scan(country="", city="", referrer_host="", scanned_at=SCANNED_AT.astimezone(paris))
    data = json.loads(parse_event(sse.scan_event(scan))["data"][0])
    assert (data["country"], data["city"], data["referrer_host"]) == (None, None, None)
    assert data["scanned_at"] == "2026-03-12T10:30:00.123456Z"


def test_line_breaks_in_values_stay_inside_the_one_data_line() -> None:
    scan = a_scan(city="Lyon\n\ndata: forged", browser="a\rb")
    fields = parse_event(sse.scan_event(scan))
    assert len(fields["data"]) == 1
    assert json.loads(fields["data"][0])["city"] == "Lyon\n\ndata: forged"


def test_an_id_that_would_break_the_field_is_left_out() -> None:
    for bad in ("evt\n1", "evt\r1", "evt\x001"):
        fields = parse_event(sse.scan_event(a_scan(event_id=bad)))
        assert "id" not in fields
        assert fields["event"] == ["scan"]


def test_heartbeat_and_opening_are_comments() -> None:
    for frame in (sse.HEARTBEAT, sse.OPENING):
        assert frame.startswith(b":") and frame.endswith(b"\n\n")
