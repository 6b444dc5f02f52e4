"""API key records and their rules: creating one, and whether a found key may be used. No I/O."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.keys import tokens
from services.keys.accounts import valid_name
from services.keys.permissions import check_can_grant, parse_permissions
from services.keys.plans import INT32_MAX
from services.runtime.errors import ApiError


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What may be shown about a key: never its secret, never its hash."""

    key_id: str
    account_id: str
    name: str
    permissions: tuple[str, ...]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # Requests per minute for this key alone; the account's limit applies on top of it.
    rate_limit_per_min: int | None = None


@dataclass(frozen=True, slots=True)
class MintedKey:
    """A key just created: ``secret`` goes to the caller once, ``secret_hash`` to storage."""

    key: ApiKey
    secret: str
    secret_hash: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"MintedKey(key={self.key!r})"


class KeyState(enum.Enum):
    USABLE = "ok"
    REVOKED = "revoked"
    EXPIRED = "expired"


def mint_key(
    *,
    pepper: bytes,
    account_id: str,
    name: str,
    permissions: Iterable[str],
    creator_permissions: Iterable[str],
    expires_at: datetime | None,
    now: datetime,
    creator_expires_at: datetime | None = None,
    rate_limit_per_min: int | None = None,
    creator_rate_limit_per_min: int | None = None,
) -> MintedKey:
    """Validate a key request and mint it.

    Raises ``INVALID_PARAMETER`` (name, permissions, expires_at, rate_limit) or
    ``INSUFFICIENT_PERMISSION`` when asking for more than ``creator_permissions``. A key made by
    a key that expires expires no later, and one made by a rate-limited key is limited no less:
    see :func:`child_expiry` and :func:`child_rate_limit`.
    """
    cleaned_name = valid_name(name)
    granted = parse_permissions(permissions)
    check_can_grant(granted, creator_permissions)
    if expires_at is not None and expires_at <= now:
        raise ApiError("INVALID_PARAMETER", "expires_at must be in the future", field="expires_at")
    expires_at = child_expiry(expires_at, creator_expires_at)
    # Any positive limit is accepted, even one above the plan's: the plan can change after the
    # key is made, and the tighter of the two windows always wins at the gateway.
    if rate_limit_per_min is not None and not 1 <= rate_limit_per_min <= INT32_MAX:
        raise ApiError(
            "INVALID_PARAMETER",
            "rate_limit must be a positive number of requests per minute",
            field="rate_limit",
        )
    rate_limit_per_min = child_rate_limit(rate_limit_per_min, creator_rate_limit_per_min)
    secret = tokens.mint_secret()
    key = ApiKey(
        key_id=tokens.new_key_id(),
        account_id=account_id,
        name=cleaned_name,
        permissions=granted,
        prefix=tokens.display_prefix(secret),
        created_at=now,
        expires_at=expires_at,
        rate_limit_per_min=rate_limit_per_min,
    )
    return MintedKey(key=key, secret=secret, secret_hash=tokens.hash_secret(pepper, secret))


def child_expiry(
    requested: datetime | None, creator_expires_at: datetime | None
) -> datetime | None:
    """A new key never outlives the key that made it, or an expiring key could mint itself a
    permanent successor.

    No expiry asked: the child inherits its creator's, the only reading that keeps the rule
    without refusing the common request that names none. A later expiry asked explicitly is
    refused rather than clamped: clamping would hand back a key that dies earlier than the
    caller wrote, hiding the mistake until the key stops working.
    """
    if creator_expires_at is None:
        return requested
    if requested is None:
        return creator_expires_at
    if requested > creator_expires_at:
        raise ApiError(
            "INVALID_PARAMETER",
            "expires_at cannot be later than the expiry of the key that creates it "
            f"({creator_expires_at.isoformat()})",
            field="expires_at",
        )
    return requested


def child_rate_limit(requested: int | None, creator_limit: int | None) -> int | None:
    """A key made by a rate-limited key is limited no less, or a key held to 3 requests a
    minute could mint itself an unlimited one. Same reading as :func:`child_expiry`: none
    asked inherits the creator's; a looser one asked explicitly is refused, not tightened."""
    if creator_limit is None:
        return requested
    if requested is None:
        return creator_limit
    if requested > creator_limit:
        raise ApiError(
            "INVALID_PARAMETER",
            "rate_limit cannot be higher than the limit of the key that creates it "
            f"({creator_limit} per minute)",
            field="rate_limit",
        )
    return requested


def key_state(key: ApiKey, now: datetime) -> KeyState:
    if key.revoked_at is not None:
        return KeyState.REVOKED
    if key.expires_at is not None and key.expires_at <= now:
        return KeyState.EXPIRED
    return KeyState.USABLE


def invalid_api_key() -> ApiError:
    # One message whatever the cause, so a caller cannot probe which keys exist or were revoked.
    return ApiError(
        "INVALID_API_KEY", "The API key is missing, malformed, unknown, revoked or expired"
    )
