from __future__ import annotations

import pytest

from services.keys.permissions import check_can_grant, parse_permissions
from services.runtime.errors import ApiError


def test_permissions_are_deduplicated_in_canonical_order() -> None:
    assert parse_permissions(["write", "read", "write"]) == ("read", "write")
    assert parse_permissions(["read"]) == ("read",)


@pytest.mark.parametrize("values", [[], ["admin"], ["read", "READ"], [""]])
def test_invalid_permissions_are_refused_on_the_permissions_field(values: list[str]) -> None:
    with pytest.raises(ApiError) as caught:
        parse_permissions(values)
    assert caught.value.code == "INVALID_PARAMETER"
    assert caught.value.field == "permissions"


@pytest.mark.parametrize(
    ("requested", "held"),
    [(["read"], ["read"]), (["read"], ["read", "write"]), (["read", "write"], ["write", "read"])],
)
def test_a_key_may_grant_what_it_holds(requested: list[str], held: list[str]) -> None:
    check_can_grant(requested, held)


@pytest.mark.parametrize(
    ("requested", "held"),
    [(["write"], ["read"]), (["read", "write"], ["read"]), (["read"], ["write"]), (["read"], [])],
)
def test_a_key_cannot_grant_what_it_does_not_hold(requested: list[str], held: list[str]) -> None:
    with pytest.raises(ApiError) as caught:
        check_can_grant(requested, held)
    assert caught.value.code == "INSUFFICIENT_PERMISSION"
