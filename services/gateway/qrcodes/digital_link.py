"""QR type ``gs1_digital_link``: a GTIN (with lot, serial, expiry) as a GS1 Digital Link URI.

GS1 Digital Link Standard: URI Syntax (1.2, section 4): the resolver, then the primary key as
path elements (``/01/<GTIN-14>``), then its key qualifiers in the standard's order (for a GTIN:
``22``, ``10``, ``21``; ``10`` and ``21`` here), then data attributes as the query string
(``?17=261231``). The GTIN is always written with 14 digits (GTIN-8/12/13 padded with zeros),
its check digit verified, never fixed. Values are percent-encoded except RFC 3986's unreserved
characters, as the standard asks. Lot and serial follow the AI rules of :mod:`gs1` (character
set 82, at most 20 characters).

    {"gtin": "09506000134352", "lot": "LOT42", "expiry": "2026-12-31"}
    -> https://id.gs1.org/01/09506000134352/10/LOT42?17=261231
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final
from urllib.parse import quote, urlsplit

from services.gateway.barcodes.gs1 import gs1_check_digit, parse_element_string
from services.runtime.errors import ApiError

DEFAULT_RESOLVER: Final = "https://id.gs1.org"
MAX_RESOLVER_LENGTH: Final = 200
_KEYS: Final = frozenset({"gtin", "lot", "serial", "expiry", "resolver"})


def _invalid(message: str, key: str) -> ApiError:
    return ApiError("INVALID_CONTENT", message, field=f"content.{key}")


def _gtin14(value: object) -> str:
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        raise _invalid("gtin must be a string of 8, 12, 13 or 14 digits", "gtin")
    if len(value) not in (8, 12, 13, 14):
        raise _invalid(f"gtin must have 8, 12, 13 or 14 digits, got {len(value)}", "gtin")
    expected = gs1_check_digit(value[:-1])
    if value[-1] != expected:
        raise ApiError(
            "INVALID_CONTENT",
            f"gtin check digit is {value[-1]}, expected {expected}",
            field="content.gtin",
            details={"expected_check_digit": expected},
        )
    return value.rjust(14, "0")


def _qualifier(content: Mapping[str, object], key: str, ai: str) -> str | None:
    value = content.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{key} must be a string", key)
    try:
        parse_element_string(f"({ai}){value}")
    except ApiError as error:
        raise _invalid(str(error), key) from None
    return value


def _expiry(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("expiry must be an ISO date, e.g. 2026-12-31", "expiry")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _invalid("expiry must be an ISO date, e.g. 2026-12-31", "expiry") from None
    if len(value) != 10:
        raise _invalid("expiry must be an ISO date, e.g. 2026-12-31", "expiry")
    return day.strftime("%y%m%d")


def _resolver(value: object) -> str:
    if value is None:
        return DEFAULT_RESOLVER
    if not isinstance(value, str) or not value.strip():
        raise _invalid("resolver must be an https URL", "resolver")
    url = value.strip().rstrip("/")
    if len(url) > MAX_RESOLVER_LENGTH:
        raise _invalid(f"resolver is longer than {MAX_RESOLVER_LENGTH} characters", "resolver")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _invalid("resolver must not contain spaces or control characters", "resolver")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise _invalid("resolver is not a valid URL", "resolver") from None
    if parts.scheme != "https" or not parts.hostname:
        raise _invalid("resolver must be an https:// URL with a host", "resolver")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise _invalid(
            "resolver is the base of the URI: no query, fragment or user info", "resolver"
        )
    return url


def digital_link_uri(content: object) -> str:
    """The GS1 Digital Link URI for ``{gtin, lot?, serial?, expiry?, resolver?}``.

    Raises ``INVALID_CONTENT`` naming ``content.<key>``.
    """
    if not isinstance(content, Mapping):
        raise ApiError("INVALID_CONTENT", "content must be an object with gtin", field="content")
    unknown = sorted(str(key) for key in content if key not in _KEYS)
    if unknown:
        raise _invalid(f"unknown field {unknown[0]!r}", unknown[0])
    if content.get("gtin") is None:
        raise _invalid("gtin is required", "gtin")
    gtin = _gtin14(content.get("gtin"))
    lot = _qualifier(content, "lot", "10")
    serial = _qualifier(content, "serial", "21")
    expiry = _expiry(content.get("expiry"))
    uri = f"{_resolver(content.get('resolver'))}/01/{gtin}"
    if lot is not None:
        uri += f"/10/{quote(lot, safe='')}"
    if serial is not None:
        uri += f"/21/{quote(serial, safe='')}"
    if expiry is not None:
        uri += f"?17={expiry}"
    return uri
