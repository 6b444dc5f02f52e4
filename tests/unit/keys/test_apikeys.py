from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.keys import tokens
from services.keys.accounts import new_account, valid_name
from services.keys.apikeys import KeyState, key_state, mint_key
from services.keys.plans import plan_limits
from services.runtime.errors import ApiError

PEPPER = b"unit-test-pepper"
NOW = datetime(2026, 3, 12, 10, 30, tzinfo=UTC)
BOTH = ("read", "write")


def test_minted_key_stores_only_the_hash_and_a_display_prefix() -> None:
    minted = mint_key(
        pepper=PEPPER,
        account_id="acc_x",
        name=" CI deploys ",
        permissions=["write", "read"],
        creator_permissions=BOTH,
        expires_at=None,
        now=NOW,
    )
    assert tokens.is_well_formed(minted.secret)
    assert minted.secret_hash == tokens.hash_secret(PEPPER, minted.secret)
    assert minted.key.prefix == minted.secret[:12]
    assert minted.key.name == "CI deploys"
    assert minted.key.permissions == BOTH
    assert minted.key.key_id.startswith("key_")
    # Nothing that describes the key (what storage and ListKeys see) holds the secret.
    assert minted.secret not in repr(minted.key)
    assert minted.secret not in repr(minted)


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": ""}, "INVALID_PARAMETER", "name"),
        ({"name": "x" * 201}, "INVALID_PARAMETER", "name"),
        ({"permissions": []}, "INVALID_PARAMETER", "permissions"),
        ({"permissions": ["root"]}, "INVALID_PARAMETER", "permissions"),
        ({"expires_at": NOW}, "INVALID_PARAMETER", "expires_at"),
        ({"expires_at": NOW - timedelta(days=1)}, "INVALID_PARAMETER", "expires_at"),
        ({"creator_permissions": ["read"]}, "INSUFFICIENT_PERMISSION", None),
        ({"rate_limit_per_min": 0}, "INVALID_PARAMETER", "rate_limit"),
        ({"rate_limit_per_min": -5}, "INVALID_PARAMETER", "rate_limit"),
        ({"rate_limit_per_min": 2**31}, "INVALID_PARAMETER", "rate_limit"),
        (
            {
                "creator_expires_at": NOW + timedelta(seconds=25),
                "expires_at": NOW + timedelta(seconds=26),
            },
            "INVALID_PARAMETER",
            "expires_at",
        ),
    ],
)
def test_invalid_key_requests_are_refused(
    overrides: dict[str, object], code: str, field: str | None
) -> None:
    request: dict[str, object] = {
        "name": "k",
        "permissions": ["write"],
        "creator_permissions": BOTH,
        "expires_at": None,
        **overrides,
    }
    with pytest.raises(ApiError) as caught:
        mint_key(pepper=PEPPER, account_id="acc_x", now=NOW, **request)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert caught.value.field == field


def test_name_of_exactly_200_chars_is_accepted() -> None:
    assert valid_name("x" * 200) == "x" * 200


def test_key_state() -> None:
    key = mint_key(
        pepper=PEPPER,
        account_id="acc_x",
        name="k",
        permissions=["read"],
        creator_permissions=BOTH,
        expires_at=NOW + timedelta(hours=1),
        now=NOW,
    ).key
    assert key_state(key, NOW) is KeyState.USABLE
    assert key_state(key, NOW + timedelta(hours=1)) is KeyState.EXPIRED
    assert key_state(replace(key, revoked_at=NOW), NOW) is KeyState.REVOKED
    assert key_state(replace(key, expires_at=None), NOW + timedelta(days=3650)) is KeyState.USABLE


def test_new_account_copies_the_plan_limits() -> None:
    account = new_account("Acme", plan_limits("free", max_codes=50), NOW)
    assert account.account_id.startswith("acc_")
    assert (account.plan, account.api_access, account.rate_limit_per_min, account.max_codes) == (
        "free",
        False,
        60,
        50,
    )


def _child(expires_at: datetime | None, creator_expires_at: datetime | None) -> datetime | None:
    return mint_key(
        pepper=PEPPER,
        account_id="acc_x",
        name="child",
        permissions=["read"],
        creator_permissions=BOTH,
        expires_at=expires_at,
        creator_expires_at=creator_expires_at,
        now=NOW,
    ).key.expires_at


def test_a_key_never_outlives_the_key_that_made_it() -> None:
    creator_expiry = NOW + timedelta(seconds=25)
    assert _child(None, creator_expiry) == creator_expiry  # inherited
    assert _child(NOW + timedelta(seconds=10), creator_expiry) == NOW + timedelta(seconds=10)
    assert _child(creator_expiry, creator_expiry) == creator_expiry
    assert _child(None, None) is None
    assert _child(NOW + timedelta(days=9), None) == NOW + timedelta(days=9)


def test_a_key_keeps_its_own_rate_limit() -> None:
    key = mint_key(
        pepper=PEPPER,
        account_id="acc_x",
        name="k",
        permissions=["read"],
        creator_permissions=BOTH,
        expires_at=None,
        now=NOW,
        rate_limit_per_min=5,
    ).key
    assert key.rate_limit_per_min == 5
