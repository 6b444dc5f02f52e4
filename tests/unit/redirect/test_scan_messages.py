from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec

from services.redirect.scan_messages import capture, message_body, to_events
from services.runtime.scan_events import ScanEvent


def test_events_match_the_shared_wire_format() -> None:
    captures = [
        capture(1_773_311_400.5, "qr_1", "acc_1", "203.0.113.7", "UA" * 500, "", "fr-FR"),
        capture(1_773_311_400.6, "qr_1", "acc_1", "203.0.113.8", "UA", "https://r/", ""),
    ]
    events = to_events(captures)
    parsed = [msgspec.json.decode(e, type=ScanEvent) for e in events]
    assert parsed[0].ts == datetime(2026, 3, 12, 10, 30, 0, 500_000, tzinfo=UTC)
    assert parsed[1].ts == datetime(2026, 3, 12, 10, 30, 0, 600_000, tzinfo=UTC)
    assert parsed[0].ip == "203.0.113.7"
    assert parsed[0].accept_language == "fr-FR"
    assert len(parsed[0].user_agent) == 512
    assert parsed[1].referer == "https://r/"
    assert len({e.event_id for e in parsed}) == 2
    assert all(len(e.event_id) == 32 for e in parsed)
    body = json.loads(message_body(events))
    assert body == {"v": 2, "events": [json.loads(e) for e in events]}


def test_hostile_header_values_stay_valid_json() -> None:
    nasty = 'a"b\\c\n\u2028é\x00</script>'
    (event,) = to_events([capture(1.0, "qr_1", "acc_1", "::1", nasty, nasty, nasty)])
    parsed = msgspec.json.decode(event, type=ScanEvent)
    assert parsed.user_agent == parsed.referer == parsed.accept_language == nasty
    assert "\n" not in event  # one event per spool line


def test_header_bytes_that_were_not_utf8_do_not_cost_the_batch() -> None:
    # aiohttp keeps undecodable header bytes as lone surrogates, which UTF-8 cannot carry.
    broken = "Mozilla/5.0 \udcff\udcfe"
    events = to_events(
        [
            capture(1.0, "qr_1", "acc_1", "::1", "fine", "", "en"),
            capture(2.0, "qr_1", "acc_1", "::1", broken, broken, ""),
        ]
    )
    parsed = [msgspec.json.decode(e, type=ScanEvent) for e in events]
    assert parsed[0].user_agent == "fine"
    assert parsed[1].user_agent == parsed[1].referer == "Mozilla/5.0 \ufffd\ufffd"
    assert parsed[1].ts == datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)
