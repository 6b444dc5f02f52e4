"""Gateway settings come from the mapping they are given, defaults for what it lacks; the
process environment is read only when no mapping is given."""

from __future__ import annotations

import ipaddress

import pytest

from services.gateway.settings import GatewaySettings
from services.runtime.config import ConfigError
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.http_server import HttpLimits

TOKEN = "gateway-settings-test-token-" + "x" * 8


def test_an_environment_with_only_the_token_gives_the_local_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "1")  # not the mapping: ignored
    settings = GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: TOKEN})
    assert settings.port == 8080
    assert settings.admin_port == 9080
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert settings.redis_url is None
    assert settings.trusted_proxies == ()
    assert settings.logo_fetch_allowlist == ()
    assert settings.http_limits == HttpLimits()
    assert settings.grpc_tls is None


def test_every_value_is_read_from_the_given_mapping() -> None:
    settings = GatewaySettings.from_env(
        {
            GRPC_AUTH_TOKEN_ENV: TOKEN,
            "GATEWAY_PORT": "18080",
            "AMQP_URL": "amqp://u:p@broker:5672/v",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
            "LOGO_FETCH_ALLOWLIST": "127.0.0.1",
            "AUTH_CACHE_TTL_S": "2.5",
            "HTTP_HEADER_TIMEOUT_S": "3",
            "ADMIN_HOST": "0.0.0.0",
        }
    )
    assert settings.port == 18080
    assert settings.public_base_url == "http://127.0.0.1:18080"
    assert settings.amqp_url == "amqp://u:p@broker:5672/v"
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.1/32"),
    )
    assert settings.logo_fetch_allowlist == ("127.0.0.1",)
    assert settings.auth_cache_ttl_s == 2.5
    assert settings.http_limits.header_timeout_s == 3.0
    assert settings.admin_host == "0.0.0.0"
    assert settings.grpc_auth_token == TOKEN


def test_an_unusable_value_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_PORT"):
        GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: TOKEN, "GATEWAY_PORT": "eighty"})


def test_the_live_stream_settings_default_and_must_be_positive() -> None:
    defaults = GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: TOKEN})
    assert (defaults.stream_heartbeat_s, defaults.stream_max_per_account) == (15.0, 10)
    assert defaults.stream_queue_events == 1000
    tuned = GatewaySettings.from_env(
        {
            GRPC_AUTH_TOKEN_ENV: TOKEN,
            "STREAM_HEARTBEAT_S": "0.5",
            "STREAM_MAX_PER_ACCOUNT": "3",
            "STREAM_QUEUE_EVENTS": "50",
        }
    )
    assert (tuned.stream_heartbeat_s, tuned.stream_max_per_account) == (0.5, 3)
    assert tuned.stream_queue_events == 50
    for name in ("STREAM_HEARTBEAT_S", "STREAM_MAX_PER_ACCOUNT", "STREAM_QUEUE_EVENTS"):
        with pytest.raises(ConfigError, match=name):
            GatewaySettings.from_env({GRPC_AUTH_TOKEN_ENV: TOKEN, name: "0"})
