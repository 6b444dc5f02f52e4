"""Renders the kustomizations once per test session."""

from __future__ import annotations

import pytest

from tests.deploy.support import K8S, Rendered, render

TARGETS = ("base", "overlays/dev", "overlays/prod")


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    return {target: Rendered(target, render(K8S / target)) for target in TARGETS}


@pytest.fixture(scope="session", params=TARGETS)
def each(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Rendered:
    target: str = request.param
    return rendered[target]


@pytest.fixture(scope="session", params=("overlays/dev", "overlays/prod"))
def overlay(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Rendered:
    target: str = request.param
    return rendered[target]
