"""Short domains and the code grammar, as the gateway and the redirect both read them."""

from __future__ import annotations

import pytest

from services.runtime.config import ConfigError
from services.runtime.short_links import ShortDomains, is_code_shaped

DOMAINS = ShortDomains.from_config(
    "https://qr.example", ["https://go.brand.example/", "http://qr.example", "http://dev.test:8081"]
)


def test_the_redirect_base_url_is_the_default_domain_stored_as_empty_key() -> None:
    assert [(d.name, d.key, d.default) for d in DOMAINS.domains] == [
        ("qr.example", "", True),
        ("go.brand.example", "go.brand.example", False),
        ("dev.test:8081", "dev.test:8081", False),
    ]
    assert DOMAINS.by_key("go.brand.example").base_url == "https://go.brand.example"
    assert DOMAINS.by_key("gone.example").default  # a key no longer configured


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("go.brand.example", "go.brand.example"),
        ("GO.Brand.Example:443", "go.brand.example"),
        ("go.brand.example.", "go.brand.example"),
        ("dev.test:8081", "dev.test:8081"),
        ("qr.example", ""),
        ("10.0.0.7:8081", ""),  # a host nobody configured: the default domain
        (None, ""),
    ],
)
def test_hosts_map_to_domain_keys(host: str | None, key: str) -> None:
    assert DOMAINS.key_for_host(host) == key


def test_one_domain_needs_no_host() -> None:
    single = ShortDomains.from_config("https://qr.example", [])
    assert not single.several and single.key_for_host("go.brand.example") == ""


@pytest.mark.parametrize("url", ["ftp://x.example", "https://x.example/path", "not a url"])
def test_bad_domains_are_refused_at_start(url: str) -> None:
    with pytest.raises(ConfigError):
        ShortDomains.from_config("https://qr.example", [url])


@pytest.mark.parametrize("code", ["abc", "Spring-Sale_26", "aB3dE5f", "x" * 64])
def test_code_shapes(code: str) -> None:
    assert is_code_shaped(code)


@pytest.mark.parametrize("code", ["ab", "x" * 65, "a.b", "a/b", "été", "a b", ""])
def test_not_code_shapes(code: str) -> None:
    assert not is_code_shaped(code)
