"""The nesting bound on client JSON: counted on structure only, never on brackets in strings."""

from __future__ import annotations

import pytest

from services.gateway.http.client_json import MAX_JSON_DEPTH, JsonTooDeepError, loads_client_json


def _arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def _objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("text", [_arrays(MAX_JSON_DEPTH), _objects(MAX_JSON_DEPTH)])
def test_json_at_the_bound_parses(text: str) -> None:
    assert loads_client_json(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        _arrays(MAX_JSON_DEPTH + 1),
        _objects(MAX_JSON_DEPTH + 1),
        '{"x": [' + _objects(MAX_JSON_DEPTH) + "]}",
        _arrays(5000),  # past json.loads' recursion limit
    ],
)
def test_deeper_json_is_refused(text: str) -> None:
    with pytest.raises(JsonTooDeepError):
        loads_client_json(text)
    with pytest.raises(JsonTooDeepError):
        loads_client_json(text.encode())


def test_brackets_inside_strings_do_not_count() -> None:
    text = '{"a": "' + "[{" * 100 + '\\"]}", "b": [[1], {"c": "]]]]"}]}'
    assert loads_client_json(text)["b"][1] == {"c": "]]]]"}


def test_wide_json_is_not_deep() -> None:
    assert len(loads_client_json("[" + ",".join(["[[]]"] * 10_000) + "]")) == 10_000


def test_invalid_json_is_still_a_value_error() -> None:
    with pytest.raises(ValueError) as raised:
        loads_client_json("[[[")
    assert not isinstance(raised.value, JsonTooDeepError)
