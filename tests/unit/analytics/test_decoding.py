from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.analytics.decoding import MalformedMessageError, decode_and_validate
from services.analytics.enrichment import Enricher

NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


def event(**overrides: Any) -> dict[str, Any]:
    base = {
        "event_id": "e1",
        "qr_id": "qr_1",
        "account_id": "acc_1",
        "ts": "2026-03-12T10:30:00.123Z",
        "ip": "8.8.8.8",
        "user_agent": "curl/8",
        "referer": "",
        "accept_language": "",
    }
    return {**base, **overrides}


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def test_a_versioned_batch_decodes() -> None:
    scans = decode_and_validate(
        body({"v": 1, "events": [event(), event(event_id="e2", extra="ignored")]}), NOW
    )
    assert [scan.event_id for scan in scans] == ["e1", "e2"]
    assert scans[0].ts == datetime(2026, 3, 12, 10, 30, 0, 123000, tzinfo=UTC)
    assert scans[0].ts.tzinfo is UTC


def test_offsets_are_converted_to_utc() -> None:
    [scan] = decode_and_validate(
        body({"v": 1, "events": [event(ts="2026-03-12T11:30:00+01:00")]}), NOW
    )
    assert scan.ts == datetime(2026, 3, 12, 10, 30, tzinfo=UTC)
    assert scan.ts.tzinfo is UTC


def test_missing_optional_fields_read_as_empty() -> None:
    raw = {"event_id": "e1", "qr_id": "q", "account_id": "a", "ts": "2026-03-12T10:30:00Z"}
    [scan] = decode_and_validate(body({"v": 1, "events": [raw]}), NOW)
    assert (scan.ip, scan.user_agent, scan.referer, scan.accept_language) == ("", "", "", "")


def test_lone_surrogates_are_replaced_not_refused() -> None:
    """A header with invalid UTF-8 bytes reaches the redirect as lone surrogates and travels as
    a ``\\udcxx`` escape: that event is kept, with U+FFFD in place of the bad bytes."""
    raw = body({"v": 1, "events": [event(user_agent="Bot\udcff/1"), event(event_id="e2")]})
    assert b"\\udcff" in raw
    scans = decode_and_validate(raw, NOW)
    assert [scan.user_agent for scan in scans] == ["Bot\ufffd/1", "curl/8"]
    assert scans[0].user_agent.encode("utf-8")  # storable


def test_an_empty_batch_is_valid() -> None:
    assert decode_and_validate(body({"v": 1, "events": []}), NOW) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (body([1, 2]), "invalid_shape"),
        (body({"v": 3, "events": []}), "unknown_version"),
        (body({"v": True, "events": []}), "unknown_version"),
        (body({"events": []}), "unknown_version"),
        (body({"v": 1, "events": {}}), "invalid_shape"),
        (body({"v": 1, "events": [event(), "x"]}), "invalid_event"),
        (body({"v": 1, "events": [event(event_id="")]}), "invalid_event"),
        (body({"v": 1, "events": [event(qr_id=5)]}), "invalid_event"),
        (body({"v": 1, "events": [event(ts="yesterday")]}), "invalid_event"),
        (body({"v": 1, "events": [event(ts="2026-03-12T10:30:00")]}), "invalid_event"),
        (body({"v": 1, "events": [event(ts="2026-03-20T10:30:00Z")]}), "invalid_event"),
        (body({"v": 1, "events": [event(ts="1999-12-31T10:30:00Z")]}), "invalid_event"),
        (body({"v": 1, "events": [event(account_id="a" * 65)]}), "invalid_event"),
        (body({"v": 1, "events": [event(ip=None)]}), "invalid_event"),
        (
            body(
                {
                    "v": 1,
                    "events": [{"qr_id": "q", "account_id": "a", "ts": "2026-03-12T10:30:00Z"}],
                }
            ),
            "invalid_event",
        ),
        (body({"v": 1, "events": [event()] * 10_001}), "too_many_events"),
        (body({"v": 1}), "invalid_shape"),
        (b'{"v": 1, "events": [', "invalid_json"),
    ],
)
def test_malformed_messages_are_refused_whole(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        decode_and_validate(raw, NOW)
    assert caught.value.reason == reason


def test_refusal_counts_the_events_it_drops() -> None:
    with pytest.raises(MalformedMessageError) as caught:
        decode_and_validate(body({"v": 1, "events": [event(), event(ts="bad"), event()]}), NOW)
    assert caught.value.events == 3


def test_version_2_carries_rule_and_variant_and_version_1_reads_as_none() -> None:
    old, new = (
        decode_and_validate(body({"v": v, "events": [event(**extra)]}), NOW)[0]
        for v, extra in ((1, {}), (2, {"rule": 3, "variant": None}))
    )
    assert (old.rule, old.variant) == (None, None)
    assert (new.rule, new.variant) == (3, None)
    rows = Enricher(b"salt").enrich_many([old, new])
    assert [(row.rule, row.variant) for row in rows] == [(None, None), (3, None)]


@pytest.mark.parametrize("index", [-1, 1001, "1", 1.5])
def test_a_route_index_out_of_range_is_malformed(index: Any) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        decode_and_validate(body({"v": 2, "events": [event(variant=index)]}), NOW)
    assert caught.value.reason == "invalid_event"
