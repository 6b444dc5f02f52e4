"""The authenticated caller, as every route sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: their account, plan limits and key."""

    account_id: str
    plan: str
    api_access: bool
    rate_limit_per_min: int  # the account's, shared by all its keys
    max_codes: int
    key_id: str
    permissions: frozenset[str]
    expires_at: float | None  # Unix seconds, to the microsecond the keys service stored
    key_rate_limit_per_min: int | None  # the key's own limit, inside the account's
