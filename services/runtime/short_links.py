"""Short links as both sides see them: the short domains a deployment serves and the grammar
of the code after the slash. The gateway validates and stores with it, the redirect resolves
with it, so the two never disagree on which host is which domain or which code can exist.

Domains: ``REDIRECT_BASE_URL`` is the default domain; ``SHORT_DOMAINS`` (comma-separated base
URLs) lists every domain served, the default one included or not. A code on the default domain
is stored with the domain key ``""`` (so codes made before domains existed keep resolving, and
the default's host may change with ``REDIRECT_BASE_URL``); a code on another domain is stored
with that domain's name (its host, with the port when it is not the scheme's default). The
redirect maps a request's host to a key; a host it does not know is taken as the default domain
(a probe, a load balancer's own name, a direct pod address).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from services.runtime.config import ConfigError

MIN_SLUG_LENGTH: Final = 3
MAX_SLUG_LENGTH: Final = 64
SLUG_PATTERN: Final = re.compile(rf"[A-Za-z0-9_-]{{{MIN_SLUG_LENGTH},{MAX_SLUG_LENGTH}}}")
"""A code chosen by a client; generated codes (7 base62 characters) fit it too."""

RESERVED_SLUGS: Final = frozenset(
    {
        "v1", "v2", "i", "api", "docs", "healthz", "readyz", "livez", "metrics", "openapi",
        "openapi.json", "admin", "static", "assets", "favicon.ico", "robots.txt", "login",
        "logout", "www", "status", "health", "well-known",
    }
)  # fmt: skip
"""Lowercase; refused in any case, so no slug shadows a route or a well-known path."""

DEFAULT_DOMAIN_KEY: Final = ""
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def is_code_shaped(code: str) -> bool:
    """Whether ``code`` can name a stored code at all (anything else is a 404 without a
    lookup)."""
    return SLUG_PATTERN.fullmatch(code) is not None


def host_name(host: str) -> str:
    """A ``Host`` value as a domain name: lowercased, trailing dot and the default ports
    dropped (browsers omit them, base URLs may spell them out)."""
    name = host.strip().lower()
    for port in (":80", ":443"):
        if name.endswith(port):
            name = name[: -len(port)]
    return name.rstrip(".")


def _base_url_name(url: str, variable: str) -> tuple[str, str]:
    """(domain name, base URL without trailing slash) of one configured base URL."""
    base = url.strip().rstrip("/")
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{variable}: {url!r} is not a URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
        raise ConfigError(f"{variable}: {url!r} must be an http(s) base URL without a path")
    name = parts.hostname.rstrip(".")
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        name = f"{name}:{port}"
    return name, base


@dataclass(frozen=True, slots=True)
class ShortDomain:
    name: str  # what the API calls it: "go.brand.example"
    base_url: str  # "https://go.brand.example"
    key: str  # stored with the code: "" for the default domain, else ``name``
    default: bool


@dataclass(frozen=True, slots=True)
class ShortDomains:
    domains: tuple[ShortDomain, ...]  # the default first

    @classmethod
    def from_config(cls, redirect_base_url: str, short_domains: Sequence[str]) -> ShortDomains:
        default_name, default_base = _base_url_name(redirect_base_url, "REDIRECT_BASE_URL")
        domains = [ShortDomain(default_name, default_base, DEFAULT_DOMAIN_KEY, default=True)]
        for url in short_domains:
            name, base = _base_url_name(url, "SHORT_DOMAINS")
            if all(domain.name != name for domain in domains):
                domains.append(ShortDomain(name, base, name, default=False))
        return cls(tuple(domains))

    @property
    def default(self) -> ShortDomain:
        return self.domains[0]

    @property
    def several(self) -> bool:
        return len(self.domains) > 1

    def by_name(self, name: str) -> ShortDomain | None:
        wanted = host_name(name)
        return next((domain for domain in self.domains if domain.name == wanted), None)

    def by_key(self, key: str) -> ShortDomain:
        """The domain a stored code lives on; a key no longer configured reads as the default
        (the code keeps a working short URL rather than a broken one)."""
        return next((domain for domain in self.domains if domain.key == key), self.default)

    def key_for_host(self, host: str | None) -> str:
        """The stored domain key a request's host resolves to (unknown hosts: the default)."""
        if not host or not self.several:
            return DEFAULT_DOMAIN_KEY
        domain = self.by_name(host)
        return DEFAULT_DOMAIN_KEY if domain is None else domain.key
