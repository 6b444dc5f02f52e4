"""The ``?q=`` name search's parameter and pattern (services/gateway/qrcodes/name_search.py)."""

from __future__ import annotations

import pytest

from services.gateway.qrcodes.name_search import MAX_QUERY_LENGTH, contains_pattern, name_query
from services.runtime.errors import ApiError


@pytest.mark.parametrize("query", [{}, {"q": ""}])
def test_no_or_an_empty_q_is_no_filter(query: dict[str, str]) -> None:
    assert name_query(query) is None


def test_q_is_kept_as_given_up_to_the_length_of_a_name() -> None:
    assert name_query({"q": " Flyer "}) == " Flyer "
    assert name_query({"q": "é" * MAX_QUERY_LENGTH}) == "é" * MAX_QUERY_LENGTH


@pytest.mark.parametrize("raw", ["x" * (MAX_QUERY_LENGTH + 1), "a\x00b"])
def test_a_q_no_name_could_hold_is_an_invalid_parameter(raw: str) -> None:
    with pytest.raises(ApiError) as refused:
        name_query({"q": raw})
    assert refused.value.code == "INVALID_PARAMETER"
    assert refused.value.details == {"field": "q"}


@pytest.mark.parametrize(
    ("needle", "pattern"),
    [
        ("flyer", "%flyer%"),
        ("50%", "%50\\%%"),
        ("under_score", "%under\\_score%"),
        ("back\\slash", "%back\\\\slash%"),
    ],
)
def test_the_pattern_takes_the_needle_literally(needle: str, pattern: str) -> None:
    assert contains_pattern(needle) == pattern
