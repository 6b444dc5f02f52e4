"""The transform step: a validated scan event becomes a ClickHouse row. Pure (the optional city
database is a memory-mapped read-only file), so it is tested with plain values.

What is stored, and what is not: the IP address becomes a country (and a city when a city
database is configured) and, with the user agent, a keyed visitor hash for unique counts; the
user agent becomes a device class, OS, browser and bot flag; the referer becomes its domain;
Accept-Language its primary language. Raw IPs, full user agents and full referers never leave
this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from services.runtime.geo import CityLookup, countries_of, normalize_ip
from services.runtime.scan_events import ScanEvent
from services.runtime.user_agents import classify

_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")
MAX_DOMAIN_CHARS: Final = 253


class ScanRow(NamedTuple):
    """One row of the ``scans`` table, in the column order of :data:`COLUMNS`."""

    event_id: str
    account_id: str
    qr_id: str
    ts: datetime
    country: str
    city: str
    device: str
    os: str
    browser: str
    is_bot: bool
    referrer: str
    language: str
    visitor_hash: int
    rule: int | None = None  # the routing rule that sent the scan (None: the default destination)
    variant: int | None = None  # the A/B variant served (None: none)


COLUMNS: Final = ScanRow._fields


class VisitorHasher:
    """Keyed BLAKE2b(salt; ip + user agent) with a 64-bit digest: the same visitor always maps
    to the same number, nobody without the salt can test a guessed IP against it (BLAKE2's
    keyed mode is a MAC, no HMAC construction needed), and 64 bits keep collisions negligible
    below billions of visitors. The keyed state is computed once and copied per event: a third
    of HMAC-SHA256's cost, on a step every scan takes. Salts longer than BLAKE2b's 64-byte key
    are hashed down to one first."""

    def __init__(self, salt: bytes) -> None:
        if not salt:
            raise ValueError("the visitor salt must not be empty")
        key = salt if len(salt) <= hashlib.blake2b.MAX_KEY_SIZE else hashlib.sha512(salt).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=8, person=b"qrf-visitor")

    def __call__(self, ip: str, user_agent: str) -> int:
        mac = self._keyed.copy()
        mac.update(f"{ip}\n{user_agent}".encode())
        return int.from_bytes(mac.digest(), "big")


def visitor_hash(salt: bytes, ip: str, user_agent: str) -> int:
    return VisitorHasher(salt)(ip, user_agent)


@lru_cache(maxsize=8192)
def referrer_domain(referer: str) -> str:
    """The host of the referring page, lowercased, without ``www.``; ``""`` for none."""
    if not referer:
        return ""
    try:
        host = urlsplit(referer.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host[:MAX_DOMAIN_CHARS]


@lru_cache(maxsize=1024)
def primary_language(accept_language: str) -> str:
    """The language subtag of the first Accept-Language entry (``fr-CH, fr;q=0.9`` → ``fr``)."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    subtag = first.split("-", 1)[0]
    return subtag if _LANGUAGE.fullmatch(subtag) else ""


class Enricher:
    def __init__(self, salt: bytes, city_lookup: CityLookup | None = None) -> None:
        self._visitor = VisitorHasher(salt)
        self._cities = city_lookup

    def enrich(self, event: ScanEvent) -> ScanRow:
        return self.enrich_many([event])[0]

    def enrich_many(self, events: Sequence[ScanEvent]) -> list[ScanRow]:
        """Rows for a message's scans (countries looked up together)."""
        countries = countries_of([event.ip for event in events])
        rows: list[ScanRow] = []
        for event, country in zip(events, countries, strict=True):
            agent = classify(event.user_agent)
            city = ""
            if self._cities is not None:
                ip = normalize_ip(event.ip)
                city = self._cities.city_of(ip) if ip is not None else ""
            rows.append(
                ScanRow(  # positional: keywords cost a third more on this per-scan path
                    event.event_id,
                    event.account_id,
                    event.qr_id,
                    event.ts,
                    country,
                    city,
                    agent.device,
                    agent.os,
                    agent.browser,
                    agent.is_bot,
                    referrer_domain(event.referer),
                    primary_language(event.accept_language),
                    self._visitor(event.ip.strip(), event.user_agent),
                    event.rule,
                    event.variant,
                )
            )
        return rows
