"""The published spec as a new user meets it: the rules that keep it generator-proof hold, and
``openapi-python-client`` and ``openapi-typescript`` (pinned) generate from it with no error,
no dropped schema or operation, and no ``never``/``unknown`` in a TypeScript response type."""

from __future__ import annotations

from pathlib import Path

from scripts.check_openapi_generators import (
    SPEC,
    check_python_client,
    check_typescript,
    load_spec,
    spec_problems,
)


def test_the_spec_follows_the_generator_rules() -> None:
    assert spec_problems(load_spec()) == []


def test_openapi_python_client_generates_everything(tmp_path: Path) -> None:
    assert check_python_client(SPEC, tmp_path) == []


def test_openapi_typescript_types_every_response(tmp_path: Path) -> None:
    assert check_typescript(SPEC, tmp_path) == []
