from __future__ import annotations

import pytest

from services.keys.plans import DEFAULT_PLAN, PLANS, Limits, plan_limits
from services.runtime.errors import ApiError


def test_catalogue() -> None:
    assert {
        "free": Limits("free", api_access=False, rate_limit_per_min=60, max_codes=10),
        "starter": Limits("starter", api_access=True, rate_limit_per_min=1_000, max_codes=1_000),
        "pro": Limits("pro", api_access=True, rate_limit_per_min=5_000, max_codes=100_000),
        "enterprise": Limits("enterprise", api_access=True, rate_limit_per_min=20_000, max_codes=0),
    } == PLANS
    assert DEFAULT_PLAN == "starter"


def test_plan_without_overrides_takes_the_catalogue_values() -> None:
    assert plan_limits("pro") == PLANS["pro"]


def test_overrides_replace_only_what_they_name() -> None:
    limits = plan_limits("free", rate_limit_per_min=300, api_access=True)
    assert limits == Limits("free", api_access=True, rate_limit_per_min=300, max_codes=10)
    assert plan_limits("pro", max_codes=0).max_codes == 0
    assert plan_limits("enterprise", api_access=False).api_access is False


@pytest.mark.parametrize(
    ("plan", "rate_limit", "max_codes", "field"),
    [
        ("gold", None, None, "plan"),
        ("pro", 0, None, "rate_limit_per_min"),
        ("pro", 2**31, None, "rate_limit_per_min"),
        ("pro", None, -1, "max_codes"),
    ],
)
def test_invalid_plans_and_overrides_are_refused(
    plan: str, rate_limit: int | None, max_codes: int | None, field: str
) -> None:
    with pytest.raises(ApiError) as caught:
        plan_limits(plan, rate_limit_per_min=rate_limit, max_codes=max_codes)
    assert caught.value.code == "INVALID_PARAMETER"
    assert caught.value.field == field
