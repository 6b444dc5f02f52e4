"""Where one scan of a routed code goes: the pure decision, in memory, from the code's compiled
routing and what the request says about the visitor.

A code's ``rules``, ``variants``, ``utm`` and ``forward_query`` columns (validated by the
gateway, ``services/gateway/qrcodes/routing.py``) are compiled once, when the record is loaded
into the cache: every destination already carries its UTM parameters and knows its own query
names, so a scan only matches conditions, maybe hashes, maybe appends the forwarded query.

Decision, in order: the first rule whose conditions all hold wins (a list condition: any of its
values); else, with variants, the visitor's variant; else the default destination. Conditions
read the same classification analytics stores (:mod:`services.runtime.user_agents`,
:mod:`services.runtime.geo`), the visitor's preferred language (highest ``q`` in
``Accept-Language``, ``q=0`` meaning "not this one"), and the scanned URL's query parameters.

Variants: a keyed BLAKE2b (a MAC: nobody without the key can steer or predict it) of the
visitor's IP, user agent and the code, mapped onto the weights. The same visitor keeps the same
variant on every replica (one key per deployment, ``VARIANT_HASH_KEY``) until the weights change.

Query merging (UTM and forwarded parameters): a destination's own parameters win on a clash,
UTM parameters win over forwarded ones, fragments stay at the end, and the result is ASCII (an
internationalised host in IDNA form, other non-ASCII percent-encoded as UTF-8).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from services.runtime.geo import country_of_address
from services.runtime.user_agents import classify

MAX_FORWARDED_QUERY: Final = 2048
"""Characters of a scanned URL's query string forwarded at most; a longer one is not forwarded."""
MAX_FORWARDED_PARAMETERS: Final = 50
MAX_LANGUAGE_ENTRIES: Final = 20
UTM_ORDER: Final = ("source", "medium", "campaign", "term", "content")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")
# Printable ASCII a URL may carry as is; anything else (non-ASCII, spaces) is percent-encoded.
_URL_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')


@dataclass(frozen=True, slots=True)
class Target:
    """One destination, UTM parameters merged in, split where a forwarded query goes."""

    base: str  # scheme://host/path?query (no fragment)
    fragment: str  # "#…" or ""
    names: frozenset[str]  # query parameter names it has (its own and UTM's)
    # base + fragment, joined once at compile time rather than on every scan.
    url: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.base + self.fragment)

    def with_query(self, raw_query: str) -> str:
        """The destination with the scanned URL's parameters added (its own win)."""
        if not raw_query or len(raw_query) > MAX_FORWARDED_QUERY:
            return self.url
        pairs = parse_qsl(raw_query, keep_blank_values=True)[:MAX_FORWARDED_PARAMETERS]
        extra = [(name, value) for name, value in pairs if name not in self.names]
        if not extra:
            return self.url
        joiner = "&" if "?" in self.base else "?"
        return f"{self.base}{joiner}{urlencode(extra, quote_via=quote)}{self.fragment}"


@dataclass(frozen=True, slots=True)
class Dimension:
    """One condition kind of every rule at once: for a visitor's value, the bit set of the
    rules it does not rule out (bit ``i`` = rule ``i``). Rules without this condition accept
    every value; a value no rule names gets only those."""

    masks: dict[str, int]
    unconditioned: int  # rules without this condition

    def accepting(self, value: str) -> int:
        return self.masks.get(value, self.unconditioned)


@dataclass(frozen=True, slots=True)
class Routing:
    """A code's compiled routing. Rules are matched as bit sets, one per condition kind: a
    scan costs a dictionary look-up per kind the rules use, however many rules there are, and
    the first matching rule is the lowest bit left."""

    default: Target
    targets: tuple[Target, ...]  # of the rules, in order
    every_rule: int  # all rule bits
    device: Dimension | None  # None: no rule has this condition
    os: Dimension | None
    country: Dimension | None
    language: Dimension | None
    query: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]  # (rule bit, required pairs)
    without_query: int  # rules without a query condition
    variants: tuple[Target, ...]
    thresholds: tuple[int, ...]  # cumulative weights
    forward_query: bool

    @property
    def needs_query(self) -> bool:
        return bool(self.query)


# Where a scan goes: (location, index of the rule that matched or None, index of the variant
# served or None). A plain tuple, not a NamedTuple: building one costs as much as matching.
Route = tuple[str, int | None, int | None]


def ascii_url(url: str) -> str:
    """``url`` as ASCII: an IDN host in IDNA form, other non-ASCII percent-encoded."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = quote(host, safe="")
    netloc = parts.netloc
    at = netloc.lower().rfind(host) if host else -1
    if at >= 0:
        netloc = netloc[:at] + ascii_host + netloc[at + len(host) :]
    return quote(urlunsplit(parts._replace(netloc=netloc)), safe=_URL_SAFE + "%")


def target(url: str, utm: Mapping[str, str] | None) -> Target:
    """A destination with ``utm_*`` parameters added (the destination's own win)."""
    base, hash_mark, fragment = ascii_url(url).partition("#")
    query = urlsplit(base).query
    names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    if utm:
        extra = [
            (f"utm_{key}", utm[key])
            for key in UTM_ORDER
            if key in utm and f"utm_{key}" not in names
        ]
        if extra:
            joiner = "" if base.endswith(("?", "&")) else "&" if query else "?"
            base = f"{base}{joiner}{urlencode(extra, quote_via=quote)}"
            names.update(name for name, _ in extra)
    return Target(base, hash_mark + fragment, frozenset(names))


def _dimension(conditions: Sequence[Any]) -> Dimension | None:
    """The bit sets of one condition kind (``conditions[i]``: rule ``i``'s list or None)."""
    if all(not values for values in conditions):
        return None
    unconditioned = sum(1 << i for i, values in enumerate(conditions) if not values)
    masks: dict[str, int] = {}
    for index, values in enumerate(conditions):
        for value in values or ():
            masks[str(value)] = masks.get(str(value), unconditioned) | (1 << index)
    return Dimension(masks, unconditioned)


def compile_routing(
    destination_url: str,
    rules: Sequence[Mapping[str, Any]],
    variants: Sequence[Mapping[str, Any]],
    forward_query: bool,
    utm: Mapping[str, str] | None,
) -> Routing | None:
    """The compiled routing of a code, or ``None`` for a plain one (a fixed destination)."""
    if not rules and not variants and not forward_query and not utm:
        return None
    conditions = [rule.get("if") or {} for rule in rules]
    query = tuple(
        (1 << index, tuple((str(k), str(v)) for k, v in condition["query"].items()))
        for index, condition in enumerate(conditions)
        if condition.get("query")
    )
    thresholds: list[int] = []
    total = 0
    for variant in variants:
        total += max(1, int(variant.get("weight", 1)))
        thresholds.append(total)
    every_rule = (1 << len(rules)) - 1
    return Routing(
        default=target(destination_url, utm),
        targets=tuple(target(str(rule["destination_url"]), utm) for rule in rules),
        every_rule=every_rule,
        device=_dimension([c.get("device") for c in conditions]),
        os=_dimension([c.get("os") for c in conditions]),
        country=_dimension([c.get("country") for c in conditions]),
        language=_dimension([c.get("language") for c in conditions]),
        query=query,
        without_query=every_rule & ~sum(bit for bit, _ in query),
        variants=tuple(target(str(v["destination_url"]), utm) for v in variants),
        thresholds=tuple(thresholds),
        forward_query=forward_query,
    )


@lru_cache(maxsize=4096)
def preferred_language(accept_language: str) -> str:
    """The primary subtag of the language the visitor prefers most (highest ``q``, the first
    on ties); ``""`` when none is named. ``fr-CH, fr;q=0.9, en;q=0.8`` → ``fr``."""
    best, best_q = "", 0.0
    for entry in accept_language.split(",", MAX_LANGUAGE_ENTRIES)[:MAX_LANGUAGE_ENTRIES]:
        tag, _, parameters = entry.partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0 or not _LANGUAGE.fullmatch(primary):
            continue
        if q > best_q:
            best, best_q = primary, q
    return best


class VariantHasher:
    """Keyed BLAKE2b (64-bit) of IP, user agent and code: the keyed state is built once and
    copied per scan (as analytics' visitor hash)."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the variant hash key must not be empty")
        key = key if len(key) <= hashlib.blake2b.MAX_KEY_SIZE else hashlib.sha512(key).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=8, person=b"qrf-variant")

    def point(self, ip: str, user_agent: str, code_id: str) -> int:
        """The visitor's 64-bit point: where it falls among the variants' weights."""
        text = f"{ip}\n{user_agent}\n{code_id}"
        mac = self._keyed.copy()
        try:
            mac.update(text.encode())
        except UnicodeEncodeError:  # a header's invalid UTF-8 (kept by Python as surrogates)
            mac.update(text.encode(errors="surrogatepass"))
        return int.from_bytes(mac.digest(), "big")


def pick_variant(thresholds: Sequence[int], point: int) -> int:
    """The variant a 64-bit ``point`` falls in, weights as cumulative ``thresholds``: variant
    ``i`` takes the slots from ``thresholds[i - 1]`` up to ``thresholds[i]``."""
    return bisect_right(thresholds, point % thresholds[-1])


def route(
    routing: Routing,
    code_id: str,
    ip: str,
    user_agent: str,
    accept_language: str,
    query: Mapping[str, str],
    raw_query: str,
    hasher: VariantHasher,
) -> Route:
    """Where this scan goes and why (rule and variant indexes for the scan event)."""
    matching = routing.every_rule
    if matching:
        device, os = routing.device, routing.os
        if device is not None or os is not None:
            agent = classify(user_agent)
            if device is not None:
                matching &= device.masks.get(agent.device, device.unconditioned)
            if os is not None:
                matching &= os.masks.get(agent.os, os.unconditioned)
        country = routing.country
        if matching and country is not None:
            matching &= country.masks.get(country_of_address(ip), country.unconditioned)
        language = routing.language
        if matching and language is not None:
            matching &= language.masks.get(
                preferred_language(accept_language), language.unconditioned
            )
        if matching and routing.query:
            if query:
                allowed = routing.without_query
                for bit, pairs in routing.query:
                    if matching & bit:
                        for name, value in pairs:
                            if query.get(name) != value:
                                break
                        else:
                            allowed |= bit
                matching &= allowed
            else:  # every query condition names a parameter: none holds without a query
                matching &= routing.without_query
        if matching:
            rule = (matching & -matching).bit_length() - 1
            chosen = routing.targets[rule]
            if routing.forward_query:
                return chosen.with_query(raw_query), rule, None
            return chosen.url, rule, None
    if routing.variants:
        variant = pick_variant(routing.thresholds, hasher.point(ip, user_agent, code_id))
        chosen = routing.variants[variant]
        if routing.forward_query:
            return chosen.with_query(raw_query), None, variant
        return chosen.url, None, variant
    if routing.forward_query:
        return routing.default.with_query(raw_query), None, None
    return routing.default.url, None, None
