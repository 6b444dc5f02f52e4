"""Where a scan came from, from its IP address: the country from ``iptocc`` (which ships its
own data, so it always works) and, when the operator supplies a MaxMind-format city database
(``GEOIP_CITY_DB``), the city. Unknown, private and malformed addresses give ``""``.

Shared by analytics (the stored country) and the redirect (routing rules on country), so a
rule for ``FR`` matches exactly the scans the stats count as ``FR``.
"""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import iptocc

from services.runtime.config import ConfigError


def normalize_ip(raw: str) -> str | None:
    """The address as text, IPv4-mapped IPv6 unwrapped; ``None`` when it is not an address
    or not a public one (private, loopback, link-local, reserved)."""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return None
    return str(address)


def country_of(ip: str | None) -> str:
    """ISO 3166-1 alpha-2 code of a normalized address, or ``""`` when unknown."""
    if ip is None:
        return ""
    return iptocc.country_code(ip) or ""


def country_of_address(raw: str) -> str:
    """:func:`country_of` for one raw address, as :func:`countries_of` does it: iptocc first
    (it answers ``None`` for private, reserved and malformed input), normalised (IPv4-mapped
    IPv6, stray whitespace) and looked up again only on a miss."""
    country = iptocc.country_code(raw)
    if country is None and (":" in raw or raw != raw.strip()):
        return country_of(normalize_ip(raw))
    return country or ""


def countries_of(raw_ips: Sequence[str]) -> list[str]:
    """:func:`country_of` for many raw addresses at once (one call into iptocc's native
    lookup). iptocc itself answers ``None`` for private, reserved and malformed input, so only
    its misses are normalized (IPv4-mapped IPv6, stray whitespace) and looked up again."""
    found = iptocc.country_code(list(raw_ips))
    countries: list[str] = []
    for raw, country in zip(raw_ips, found, strict=True):
        if country is None and (":" in raw or raw != raw.strip()):
            countries.append(country_of(normalize_ip(raw)))
        else:
            countries.append(country or "")
    return countries


class CityLookup(Protocol):
    def city_of(self, ip: str) -> str: ...


class MaxMindCityLookup:
    """Reads a GeoIP2/GeoLite2 City database (memory-mapped) with the ``maxminddb`` package."""

    def __init__(self, path: str) -> None:
        if not Path(path).is_file():
            raise ConfigError(f"GEOIP_CITY_DB {path!r} is not a file")
        try:
            # Optional dependency, only needed with GEOIP_CITY_DB.
            maxminddb: Any = importlib.import_module("maxminddb")
        except ImportError:
            raise ConfigError(
                "GEOIP_CITY_DB is set but the maxminddb package is not installed"
            ) from None
        self._reader: Any = maxminddb.open_database(path)

    def city_of(self, ip: str) -> str:
        try:
            record = self._reader.get(ip)
        except ValueError:
            return ""
        if not isinstance(record, dict):
            return ""
        names = (record.get("city") or {}).get("names") or {}
        name = names.get("en") or next(iter(names.values()), "")
        return str(name)[:128]

    def close(self) -> None:
        self._reader.close()
