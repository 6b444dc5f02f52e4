"""Accounts: who owns keys and codes, and the limits their plan gives them. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from services.keys import tokens
from services.keys.plans import Limits
from services.runtime.errors import ApiError

MAX_NAME_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    plan: str
    api_access: bool
    rate_limit_per_min: int
    max_codes: int  # 0 = unlimited
    created_at: datetime


def valid_name(name: str, field: str = "name") -> str:
    """Names are trimmed, required and at most 200 characters (API.md)."""
    cleaned = name.strip()
    if not cleaned:
        raise ApiError("INVALID_PARAMETER", f"{field} is required", field=field)
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ApiError(
            "INVALID_PARAMETER",
            f"{field} must be at most {MAX_NAME_LENGTH} characters",
            field=field,
        )
    return cleaned


def new_account(name: str, limits: Limits, now: datetime) -> Account:
    return Account(
        account_id=tokens.new_account_id(),
        name=valid_name(name),
        plan=limits.plan,
        api_access=limits.api_access,
        rate_limit_per_min=limits.rate_limit_per_min,
        max_codes=limits.max_codes,
        created_at=now,
    )
