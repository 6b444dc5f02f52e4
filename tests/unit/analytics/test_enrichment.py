from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from services.analytics.enrichment import (
    COLUMNS,
    Enricher,
    primary_language,
    referrer_domain,
    visitor_hash,
)
from services.runtime.scan_events import ScanEvent
from tests.unit.runtime.test_user_agents import GOOGLEBOT, IPHONE_SAFARI

SALT = b"unit-test-salt"
EVENT = ScanEvent(
    event_id="e1",
    qr_id="qr_1",
    account_id="acc_1",
    ts=datetime(2026, 3, 12, 10, 30, 0, 123000, tzinfo=UTC),
    ip="8.8.8.8",
    user_agent=IPHONE_SAFARI,
    referer="https://www.Example.com/campaign?utm=1",
    accept_language="fr-CH, fr;q=0.9, en;q=0.8",
)


class FakeCities:
    def city_of(self, ip: str) -> str:
        return {"8.8.8.8": "Mountain View"}.get(ip, "")


def test_a_row_is_enriched_and_keeps_no_raw_ip_or_agent() -> None:
    row = Enricher(SALT).enrich(EVENT)
    assert row.country == "US"
    assert (row.device, row.os, row.browser, row.is_bot) == ("mobile", "ios", "Safari", False)
    assert row.referrer == "example.com"
    assert row.language == "fr"
    assert row.city == ""
    assert row.ts == EVENT.ts
    stored = [str(value) for value in row]
    assert len(stored) == len(COLUMNS)
    assert all(EVENT.ip not in value and EVENT.user_agent not in value for value in stored)
    assert all("campaign" not in value for value in stored)


def test_city_comes_from_the_optional_lookup() -> None:
    assert Enricher(SALT, FakeCities()).enrich(EVENT).city == "Mountain View"
    private = msgspec.structs.replace(EVENT, ip="10.1.2.3")
    assert Enricher(SALT, FakeCities()).enrich(private).city == ""


def test_bots_are_flagged() -> None:
    row = Enricher(SALT).enrich(msgspec.structs.replace(EVENT, user_agent=GOOGLEBOT))
    assert row.is_bot
    assert row.device == "bot"


def test_visitor_hash_is_keyed_stable_and_64_bit() -> None:
    first = visitor_hash(SALT, "8.8.8.8", IPHONE_SAFARI)
    assert first == visitor_hash(SALT, "8.8.8.8", IPHONE_SAFARI)
    assert first != visitor_hash(b"another-salt", "8.8.8.8", IPHONE_SAFARI)
    assert first != visitor_hash(SALT, "8.8.4.4", IPHONE_SAFARI)
    assert first != visitor_hash(SALT, "8.8.8.8", GOOGLEBOT)
    assert 0 <= first < 2**64


def test_different_salts_give_different_rows() -> None:
    a = Enricher(SALT).enrich(EVENT)
    b = Enricher(b"other").enrich(EVENT)
    assert a.visitor_hash != b.visitor_hash
    assert a._replace(visitor_hash=0) == b._replace(visitor_hash=0)


def test_an_empty_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        Enricher(b"")


@pytest.mark.parametrize(
    ("referer", "domain"),
    [
        ("", ""),
        ("https://www.google.com/search?q=x", "google.com"),
        ("http://t.co/abc", "t.co"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("not a url", ""),
        ("https://[::1", ""),
    ],
)
def test_referrer_domain(referer: str, domain: str) -> None:
    assert referrer_domain(referer) == domain


@pytest.mark.parametrize(
    ("header", "language"),
    [("fr-CH, fr;q=0.9", "fr"), ("en", "en"), ("*", ""), ("", ""), ("zh-Hant-TW", "zh")],
)
def test_primary_language(header: str, language: str) -> None:
    assert primary_language(header) == language
