"""What a dynamic code routes by (API.md "Dynamic codes v1.1"): its slug and domain, rules,
weighted variants, the fallback for expired codes, query forwarding and UTM parameters.

Pure validation: a request body's fields become the catalog columns they are stored in, or an
``INVALID_PARAMETER`` whose ``details.field`` points into the list (``rules[3].if.country``).
Every list and string is bounded. The redirect service reads these columns back and decides
in memory (``services/redirect/routing.py``); what it relies on is checked here once.
"""

from __future__ import annotations

import re
from typing import Any, Final

from services.gateway.qrcodes.payloads import validate_http_url
from services.runtime.errors import ApiError
from services.runtime.short_links import (
    MAX_SLUG_LENGTH,
    MIN_SLUG_LENGTH,
    RESERVED_SLUGS,
    SLUG_PATTERN,
    ShortDomains,
)
from services.runtime.user_agents import OPERATING_SYSTEMS

MAX_RULES: Final = 20
MAX_VARIANTS: Final = 10
MIN_WEIGHT: Final = 1
MAX_WEIGHT: Final = 1000
RULE_DEVICES: Final = ("mobile", "tablet", "desktop")
RULE_OS: Final = tuple(name for name in OPERATING_SYSTEMS if name != "other")
MAX_COUNTRIES: Final = 250
MAX_LANGUAGES: Final = 50
MAX_QUERY_CONDITIONS: Final = 10
MAX_QUERY_NAME: Final = 100
MAX_QUERY_VALUE: Final = 200
UTM_REQUIRED: Final = ("source", "medium", "campaign")
UTM_OPTIONAL: Final = ("term", "content")
MAX_UTM_VALUE: Final = 200

ROUTING_FIELDS: Final = frozenset({"rules", "variants", "expired_url", "forward_query", "utm"})
"""Body fields that change how a code routes (create and PATCH)."""
ADDRESS_FIELDS: Final = frozenset({"slug", "domain"})
"""Body fields that choose the short URL (create only: the printed image encodes it)."""

_CONDITIONS: Final = frozenset({"device", "os", "country", "language", "query"})
_COUNTRY: Final = re.compile(r"[A-Za-z]{2}")
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}")


def _invalid(message: str, field: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=field)


def _object(value: object, field: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{field} must be an object", field)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _invalid(f"unknown field {field}.{unknown[0]}", f"{field}.{unknown[0]}")
    return value


def _list(value: object, field: str, max_items: int, *, min_items: int = 0) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"{field} must be a list", field)
    if not min_items <= len(value) <= max_items:
        raise _invalid(f"{field} takes {min_items} to {max_items} items", field)
    return value


def _choices(value: object, field: str, allowed: tuple[str, ...]) -> list[str]:
    items = _list(value, field, len(allowed), min_items=1)
    for index, item in enumerate(items):
        if item not in allowed:
            raise _invalid(f"must be one of {', '.join(allowed)}", f"{field}[{index}]")
    return sorted(set(items), key=allowed.index)


def _codes(value: object, field: str, max_items: int, pattern: re.Pattern[str]) -> list[str]:
    items = _list(value, field, max_items, min_items=1)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not pattern.fullmatch(item):
            what = "an ISO 3166-1 alpha-2 code" if pattern is _COUNTRY else "a language subtag"
            raise _invalid(f"must be {what}", f"{field}[{index}]")
    upper = pattern is _COUNTRY
    return sorted({item.upper() if upper else item.lower() for item in items})


def _query_conditions(value: object, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not 1 <= len(value) <= MAX_QUERY_CONDITIONS:
        raise _invalid(f"{field} must be an object of 1 to {MAX_QUERY_CONDITIONS} names", field)
    for name, expected in value.items():
        if not 1 <= len(name) <= MAX_QUERY_NAME:
            raise _invalid(f"parameter names are 1 to {MAX_QUERY_NAME} characters", field)
        if not isinstance(expected, str) or len(expected) > MAX_QUERY_VALUE:
            raise _invalid(
                f"must be a string of at most {MAX_QUERY_VALUE} characters", f"{field}.{name}"
            )
    return dict(value)


def _condition(value: object, field: str) -> dict[str, Any]:
    conditions = _object(value, field, _CONDITIONS)
    if not conditions:
        raise _invalid(f"{field} needs at least one condition", field)
    parsed: dict[str, Any] = {}
    if "device" in conditions:
        parsed["device"] = _choices(conditions["device"], f"{field}.device", RULE_DEVICES)
    if "os" in conditions:
        parsed["os"] = _choices(conditions["os"], f"{field}.os", RULE_OS)
    if "country" in conditions:
        parsed["country"] = _codes(
            conditions["country"], f"{field}.country", MAX_COUNTRIES, _COUNTRY
        )
    if "language" in conditions:
        parsed["language"] = _codes(
            conditions["language"], f"{field}.language", MAX_LANGUAGES, _LANGUAGE
        )
    if "query" in conditions:
        parsed["query"] = _query_conditions(conditions["query"], f"{field}.query")
    return parsed


def _destination(value: object, field: str) -> str:
    return validate_http_url(value, field, code="INVALID_PARAMETER")


def parse_rules(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    rules = _list(value, "rules", MAX_RULES)
    parsed: list[dict[str, Any]] = []
    for index, raw_rule in enumerate(rules):
        field = f"rules[{index}]"
        rule = _object(raw_rule, field, frozenset({"if", "destination_url"}))
        if "if" not in rule:
            raise _invalid(f"{field}.if is required", f"{field}.if")
        parsed.append(
            {
                "if": _condition(rule["if"], f"{field}.if"),
                "destination_url": _destination(
                    rule.get("destination_url"), f"{field}.destination_url"
                ),
            }
        )
    return parsed


def parse_variants(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    variants = _list(value, "variants", MAX_VARIANTS)
    parsed: list[dict[str, Any]] = []
    for index, raw_variant in enumerate(variants):
        field = f"variants[{index}]"
        variant = _object(raw_variant, field, frozenset({"destination_url", "weight"}))
        weight = variant.get("weight")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int)
            or not MIN_WEIGHT <= weight <= MAX_WEIGHT
        ):
            raise _invalid(
                f"weight must be a whole number from {MIN_WEIGHT} to {MAX_WEIGHT}",
                f"{field}.weight",
            )
        parsed.append(
            {
                "destination_url": _destination(
                    variant.get("destination_url"), f"{field}.destination_url"
                ),
                "weight": weight,
            }
        )
    return parsed


def parse_utm(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    utm = _object(value, "utm", frozenset(UTM_REQUIRED + UTM_OPTIONAL))
    parsed: dict[str, str] = {}
    for name in UTM_REQUIRED + UTM_OPTIONAL:
        item = utm.get(name)
        if item is None and name in UTM_OPTIONAL:
            continue
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_UTM_VALUE:
            raise _invalid(
                f"utm.{name} must be a string of 1 to {MAX_UTM_VALUE} characters", f"utm.{name}"
            )
        parsed[name] = item
    return parsed


def routing_columns(body: dict[str, Any]) -> dict[str, Any]:
    """Columns for the routing fields present in ``body``; ``null`` clears a field."""
    columns: dict[str, Any] = {}
    if "rules" in body:
        columns["rules"] = parse_rules(body["rules"])
    if "variants" in body:
        columns["variants"] = parse_variants(body["variants"])
    if "expired_url" in body:
        expired = body["expired_url"]
        columns["expired_url"] = None if expired is None else _destination(expired, "expired_url")
    if "forward_query" in body:
        forward = body["forward_query"]
        if forward is None:
            forward = False
        if not isinstance(forward, bool):
            raise _invalid("forward_query must be true or false", "forward_query")
        columns["forward_query"] = forward
    if "utm" in body:
        columns["utm"] = parse_utm(body["utm"])
    return columns


def parse_slug(value: object) -> str | None:
    """The client's own short code, or ``None`` to have one generated."""
    if value is None:
        return None
    if not isinstance(value, str) or not SLUG_PATTERN.fullmatch(value):
        raise _invalid(
            f"slug must be {MIN_SLUG_LENGTH} to {MAX_SLUG_LENGTH} of A-Z, a-z, 0-9, _ and -",
            "slug",
        )
    if value.lower() in RESERVED_SLUGS:
        raise _invalid(f"slug {value!r} is reserved", "slug")
    return value


def parse_domain(value: object, domains: ShortDomains) -> str:
    """The stored domain key of the ``domain`` asked for (the default when absent)."""
    if value is None:
        return domains.default.key
    domain = domains.by_name(value) if isinstance(value, str) and len(value) <= 255 else None
    if domain is None:
        names = ", ".join(d.name for d in domains.domains)
        raise _invalid(f"domain must be one of the configured short domains: {names}", "domain")
    return domain.key
