"""The plan catalogue and how an account's limits follow from its plan.

An account stores its own limits (copied from the plan when it is set), so an operator can
override one account's rate limit, code quota or API access without inventing a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from services.runtime.errors import ApiError

INT32_MAX: Final = 2**31 - 1  # the limits travel as int32 over gRPC


@dataclass(frozen=True, slots=True)
class Limits:
    plan: str
    api_access: bool
    rate_limit_per_min: int
    max_codes: int  # 0 = unlimited


PLANS: Final[Mapping[str, Limits]] = MappingProxyType(
    {
        "free": Limits("free", api_access=False, rate_limit_per_min=60, max_codes=10),
        "starter": Limits("starter", api_access=True, rate_limit_per_min=1_000, max_codes=1_000),
        "pro": Limits("pro", api_access=True, rate_limit_per_min=5_000, max_codes=100_000),
        "enterprise": Limits("enterprise", api_access=True, rate_limit_per_min=20_000, max_codes=0),
    }
)
DEFAULT_PLAN: Final = "starter"


def plan_limits(
    plan: str,
    *,
    rate_limit_per_min: int | None = None,
    max_codes: int | None = None,
    api_access: bool | None = None,
) -> Limits:
    """The plan's limits with any override applied; an override left as ``None`` takes the
    plan's value, so setting a plan again resets what was overridden before."""
    base = PLANS.get(plan)
    if base is None:
        raise ApiError(
            "INVALID_PARAMETER", f"Unknown plan {plan!r}: one of {', '.join(PLANS)}", field="plan"
        )
    if rate_limit_per_min is not None and not 1 <= rate_limit_per_min <= INT32_MAX:
        raise ApiError(
            "INVALID_PARAMETER",
            "rate_limit_per_min must be a positive integer",
            field="rate_limit_per_min",
        )
    if max_codes is not None and not 0 <= max_codes <= INT32_MAX:
        raise ApiError(
            "INVALID_PARAMETER", "max_codes must be 0 (unlimited) or more", field="max_codes"
        )
    return replace(
        base,
        rate_limit_per_min=base.rate_limit_per_min
        if rate_limit_per_min is None
        else rate_limit_per_min,
        max_codes=base.max_codes if max_codes is None else max_codes,
        api_access=base.api_access if api_access is None else api_access,
    )
