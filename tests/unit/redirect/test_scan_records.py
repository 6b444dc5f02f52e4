from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec

from services.redirect.scan_records import capture, message_body, rfc3339_ms, to_events
from services.runtime.scan_events import ScanEvent


def test_rfc3339_with_milliseconds() -> None:
    assert rfc3339_ms(1_773_311_400.123) == "2026-03-12T10:30:00.123Z"
    assert rfc3339_ms(1_773_311_401.0) == "2026-03-12T10:30:01.000Z"


def test_events_match_the_shared_wire_format() -> None:
    captures = [
        capture(1_773_311_400.5, "qr_1", "acc_1", "203.0.113.7", "UA" * 500, "", "fr-FR"),
        capture(1_773_311_400.6, "qr_1", "acc_1", "203.0.113.8", "UA", "https://r/", ""),
    ]
    events = to_events(captures)
    parsed = [msgspec.json.decode(e, type=ScanEvent) for e in events]
    assert parsed[0].ts == datetime(2026, 3, 12, 10, 30, 0, 500_000, tzinfo=UTC)
    assert len(parsed[0].user_agent) == 512
    assert parsed[1].referer == "https://r/"
    assert len({e.event_id for e in parsed}) == 2
    assert all(len(e.event_id) == 32 for e in parsed)
    body = json.loads(message_body(events))
    assert body == {"v": 1, "events": [json.loads(e) for e in events]}


def test_hostile_header_values_stay_valid_json() -> None:
    nasty = 'a"b\\c\n\u2028é\x00</script>'
    (event,) = to_events([capture(1.0, "qr_1", "acc_1", "::1", nasty, nasty, nasty)])
    parsed = msgspec.json.decode(event, type=ScanEvent)
    assert parsed.user_agent == parsed.referer == parsed.accept_language == nasty
    assert event.isascii()
