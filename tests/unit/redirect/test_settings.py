"""Redirect settings come from the mapping they are given, defaults for what it lacks."""

from __future__ import annotations

import ipaddress

import pytest

from services.redirect.settings import RedirectSettings
from services.runtime.config import ConfigError
from services.runtime.http_server import HttpLimits


def test_an_empty_environment_gives_the_local_defaults() -> None:
    settings = RedirectSettings.from_env({})
    assert settings.port == 8081
    assert settings.admin_port == 9081
    assert settings.redis_url is None
    assert settings.trusted_proxies == ()
    assert settings.http_limits == HttpLimits()


def test_every_value_is_read_from_the_given_mapping() -> None:
    settings = RedirectSettings.from_env(
        {
            "REDIRECT_PORT": "18081",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
            "REDIRECT_CACHE_TTL_S": "7.5",
            "HTTP_HEADER_TIMEOUT_S": "3",
            "HTTP_BODY_TIMEOUT_S": "4",
            "ADMIN_HOST": "0.0.0.0",
        }
    )
    assert settings.port == 18081
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.1/32"),
    )
    assert settings.cache_ttl_s == 7.5
    assert settings.http_limits == HttpLimits(header_timeout_s=3.0, body_timeout_s=4.0)
    assert settings.admin_host == "0.0.0.0"


def test_an_unusable_value_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="REDIRECT_PORT"):
        RedirectSettings.from_env({"REDIRECT_PORT": "eighty"})
