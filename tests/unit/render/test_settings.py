"""Render settings come from the mapping they are given, defaults for what it lacks."""

from __future__ import annotations

import pytest

from services.render.settings import RenderSettings
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV

TOKEN = "render-settings-test-token-" + "x" * 8


def test_every_value_is_read_from_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDER_WORKERS", "64")  # not the mapping: ignored
    settings = RenderSettings.from_env(
        {GRPC_AUTH_TOKEN_ENV: TOKEN, "RENDER_PORT": "17051", "RENDER_WORKERS": "3"}
    )
    assert settings.port == 17051
    assert settings.admin_port == 9051
    assert settings.workers == 3
    assert settings.workers_per_account == 2  # half, rounded up
    assert settings.grpc_auth_token == TOKEN


def test_workers_per_account_stays_within_the_pool() -> None:
    settings = RenderSettings.from_env(
        {GRPC_AUTH_TOKEN_ENV: TOKEN, "RENDER_WORKERS": "2", "RENDER_WORKERS_PER_ACCOUNT": "9"}
    )
    assert settings.workers_per_account == 2
