"""API key records and their rules: creating one, and whether a found key may be used. No I/O."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.keys import tokens
from services.keys.accounts import valid_name
from services.keys.permissions import check_can_grant, parse_permissions
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
) -> MintedKey:
    """Validate a key request and mint it.

    Raises ``INVALID_PARAMETER`` (name, permissions, expires_at) or
    ``INSUFFICIENT_PERMISSION`` when asking for more than ``creator_permissions``.
    """
    cleaned_name = valid_name(name)
    granted = parse_permissions(permissions)
    check_can_grant(granted, creator_permissions)
    if expires_at is not None and expires_at <= now:
        raise ApiError("INVALID_PARAMETER", "expires_at must be in the future", field="expires_at")
    secret = tokens.mint_secret()
    key = ApiKey(
        key_id=tokens.new_key_id(),
        account_id=account_id,
        name=cleaned_name,
        permissions=granted,
        prefix=tokens.display_prefix(secret),
        created_at=now,
        expires_at=expires_at,
    )
    return MintedKey(key=key, secret=secret, secret_hash=tokens.hash_secret(pepper, secret))


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
