"""Endpoint URLs follow the logo fetcher's rules (:mod:`services.runtime.public_addresses`):
``https`` only, no credentials, a host whose every address is public. ``WEBHOOK_ALLOWLIST``
admits named hosts (or CIDRs) for development and tests, and plain ``http`` for them.

The URL is checked when an endpoint is created or changed, and its host again before every
connection (:mod:`services.webhooks.http_delivery`): DNS can change after creation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from yarl import URL

from services.runtime.errors import ApiError
from services.runtime.public_addresses import (
    BlockedAddressError,
    Resolve,
    host_is_allowlisted,
    vet_host,
)

MAX_URL_CHARS: Final = 2048


class UnsafeUrlError(ValueError):
    """The URL breaks a rule; the message is safe to show."""


def parse_endpoint_url(raw: str, allowlist: Sequence[str]) -> URL:
    """The URL if its form is acceptable (scheme, host, no credentials); no DNS here."""
    if len(raw) > MAX_URL_CHARS:
        raise UnsafeUrlError(f"url must be at most {MAX_URL_CHARS} characters")
    try:
        url = URL(raw)
        host = url.raw_host
    except (ValueError, TypeError):
        raise UnsafeUrlError("url is not a valid URL") from None
    if not host or not url.is_absolute():
        raise UnsafeUrlError("url must be absolute and name a host")
    scheme = url.scheme.lower()
    if scheme != "https" and not (scheme == "http" and host_is_allowlisted(allowlist, host)):
        raise UnsafeUrlError("url must use https://")
    if url.raw_user is not None or url.raw_password is not None:
        raise UnsafeUrlError("url must not contain credentials")
    if url.fragment:
        raise UnsafeUrlError("url must not contain a fragment")
    return url


def default_port(url: URL) -> int:
    return url.port or (443 if url.scheme.lower() == "https" else 80)


async def check_endpoint_url(
    raw: str, allowlist: Sequence[str], resolve: Resolve | None = None
) -> str:
    """The URL, normalised, or ``ApiError(INVALID_PARAMETER, field="url")``."""
    try:
        url = parse_endpoint_url(raw, allowlist)
        await vet_host(url.raw_host or "", default_port(url), allowlist, resolve)
    except UnsafeUrlError as exc:
        raise ApiError("INVALID_PARAMETER", str(exc), field="url") from None
    except BlockedAddressError as exc:
        raise ApiError("INVALID_PARAMETER", f"url {exc}", field="url") from None
    return str(url)
