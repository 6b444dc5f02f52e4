from __future__ import annotations

import pytest

from services.gateway.tags.values import MAX_TAG_LENGTH, MAX_TAGS, parse_tags, tag_filter
from services.runtime.errors import ApiError


def test_tags_are_trimmed_and_repeats_collapse_into_the_first() -> None:
    assert parse_tags([" spring ", "Print", "spring", "print"]) == ["spring", "Print", "print"]
    assert parse_tags(None) == []
    assert parse_tags([]) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("spring", "tags"),
        ({"a": 1}, "tags"),
        ([str(i) for i in range(MAX_TAGS + 1)], "tags"),
        (["ok", 3], "tags[1]"),
        (["ok", "   "], "tags[1]"),
        (["x" * (MAX_TAG_LENGTH + 1)], "tags[0]"),
        (["tab\there"], "tags[0]"),
        (["nul\x00"], "tags[0]"),
    ],
)
def test_bad_tags_name_the_offending_field(value: object, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_tags(value)
    assert (raised.value.code, raised.value.field) == ("INVALID_PARAMETER", field)


def test_the_limits_are_inclusive() -> None:
    assert len(parse_tags([f"t{i}" for i in range(MAX_TAGS)])) == MAX_TAGS
    assert parse_tags(["é" * MAX_TAG_LENGTH]) == ["é" * MAX_TAG_LENGTH]


def test_the_filter_is_one_tag_or_none() -> None:
    assert tag_filter({}) is None
    assert tag_filter({"tag": ""}) is None
    assert tag_filter({"tag": " sale "}) == "sale"
    with pytest.raises(ApiError) as raised:
        tag_filter({"tag": "x" * 51})
    assert raised.value.field == "tag"
