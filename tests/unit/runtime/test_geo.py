from __future__ import annotations

import pytest

from services.runtime.config import ConfigError
from services.runtime.geo import MaxMindCityLookup, country_of, normalize_ip


def test_known_public_addresses_get_their_country() -> None:
    assert country_of(normalize_ip("8.8.8.8")) == "US"
    assert country_of(normalize_ip("81.2.69.142")) == "GB"


def test_ipv4_mapped_ipv6_is_unwrapped() -> None:
    assert normalize_ip("::ffff:8.8.8.8") == "8.8.8.8"
    assert country_of(normalize_ip("::ffff:8.8.8.8")) == "US"


@pytest.mark.parametrize(
    "raw", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "::1", "fe80::1", "203.0.113.5", "", "x.y"]
)
def test_private_reserved_and_malformed_addresses_have_no_country(raw: str) -> None:
    assert normalize_ip(raw) is None
    assert country_of(normalize_ip(raw)) == ""


def test_city_database_must_exist(tmp_path: object) -> None:
    with pytest.raises(ConfigError):
        MaxMindCityLookup("/nonexistent/GeoLite2-City.mmdb")
