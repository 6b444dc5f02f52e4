from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.redirect.codes import CodeRecord, Outcome, decide, is_well_formed

NOW = 1_800_000_000.0
ACTIVE = CodeRecord(
    qr_id="qr_1",
    account_id="acc_1",
    short_code="Abc1234",
    destination_url="https://example.com/",
    password_hash=None,
    expires_at=None,
    max_scans=0,
    scan_count=0,
    active=True,
)


# Generated codes, and slugs (API.md "Dynamic codes v1.1": 3-64 of [A-Za-z0-9_-]).
@pytest.mark.parametrize(
    "code", ["Abc1234", "a" * 7, "Z9" * 16, "abc", "spring-sale_2026", "a" * 64]
)
def test_well_formed_codes(code: str) -> None:
    assert is_well_formed(code)


@pytest.mark.parametrize("code", ["", "ab", "a" * 65, "abc1234.", "abcdéfg", "abc 1234", "a/b"])
def test_malformed_codes(code: str) -> None:
    assert not is_well_formed(code)


def test_unknown_or_deleted_is_not_found() -> None:
    assert decide(None, NOW) is Outcome.NOT_FOUND


def test_active_code_redirects() -> None:
    assert decide(ACTIVE, NOW) is Outcome.REDIRECT


def test_inactive_is_gone() -> None:
    assert decide(replace(ACTIVE, active=False), NOW) is Outcome.GONE


def test_expiry_is_exclusive_of_the_instant() -> None:
    assert decide(replace(ACTIVE, expires_at=NOW + 1), NOW) is Outcome.REDIRECT
    assert decide(replace(ACTIVE, expires_at=NOW), NOW) is Outcome.GONE
    assert decide(replace(ACTIVE, expires_at=NOW - 1), NOW) is Outcome.GONE


def test_max_scans_reached_is_gone_and_zero_means_unlimited() -> None:
    assert decide(replace(ACTIVE, max_scans=3, scan_count=2), NOW) is Outcome.REDIRECT
    assert decide(replace(ACTIVE, max_scans=3, scan_count=3), NOW) is Outcome.GONE
    assert decide(replace(ACTIVE, max_scans=0, scan_count=10**6), NOW) is Outcome.REDIRECT
    assert decide(replace(ACTIVE, max_scans=3).exhausted(), NOW) is Outcome.GONE


def test_password_asks_for_the_form_unless_gone() -> None:
    protected = replace(ACTIVE, password_hash="scrypt$...")
    assert decide(protected, NOW) is Outcome.PASSWORD
    assert decide(replace(protected, active=False), NOW) is Outcome.GONE
    assert decide(replace(protected, expires_at=NOW - 1), NOW) is Outcome.GONE


def test_record_from_row() -> None:
    row = {
        "qr_id": "qr_1",
        "account_id": "acc_1",
        "short_code": "Abc1234",
        "destination_url": "https://example.com/",
        "password_hash": None,
        "expires_at": datetime.fromtimestamp(NOW, UTC),
        "max_scans": 5,
        "scan_count": 2,
        "active": True,
        "deleted_at": None,
    }
    record = CodeRecord.from_row(row)
    assert record == replace(ACTIVE, expires_at=NOW, max_scans=5, scan_count=2)
    assert CodeRecord.from_row({**row, "deleted_at": datetime.now(UTC)}) is None
    assert CodeRecord.from_row(None) is None
