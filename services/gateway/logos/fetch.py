"""Fetch a ``design.logo_url`` without letting clients reach into our network (SSRF).

Contract of :func:`fetch_logo`: only ``https://`` URLs; every address a host name resolves
to must be public (the rules of :mod:`services.runtime.public_addresses`, shared with webhook
deliveries), checked *before* any connection is opened; the connection then goes to exactly
the addresses that were checked (a resolver pinned to them), so a DNS answer that changes
between check and connect (rebinding) cannot redirect it. Redirects are followed by hand, at most
``policy.max_redirects``, each hop checked like the first. One deadline covers everything
(DNS, TLS, redirects, body); the body is streamed and abandoned as soon as it passes
``policy.max_bytes``; no proxy from the environment is used; compressed bodies are refused
(so the size cap is a cap on what we hold, not on what a gzip bomb expands to). The result
must sniff as PNG, JPEG or SVG (see ``logos/images.py``); SVG comes back sanitised.

Every failure is ``ApiError("LOGO_FETCH_FAILED")`` on field ``design.logo_url`` with a short
message naming the cause; exception text from the network stack is never passed through.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp.abc import ResolveResult
from yarl import URL

from services.gateway.logos.images import (
    MAX_LOGO_BYTES,
    LogoError,
    check_logo,
    decode_logo_data,
    sanitize_svg,
)
from services.runtime.errors import ApiError
from services.runtime.public_addresses import (
    BlockedAddressError,
    IPAddress,
    PinnedResolver,
    address_allowed,
    is_public_address,
    vet_host,
)

__all__ = [
    "DEFAULT_LOGO_POLICY",
    "LogoFetchPolicy",
    "decode_logo_data",
    "fetch_logo",
    "is_public_address",
    "sanitize_svg",
]

_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024
_MAX_URL_LENGTH: Final = 2048
_HEADERS: Final = {
    "User-Agent": "QRForge-logo-fetch/1",
    "Accept": "image/png, image/jpeg, image/svg+xml",
    # A compressed body could expand far past the cap inside a single read.
    "Accept-Encoding": "identity",
}


@dataclass(frozen=True, slots=True)
class LogoFetchPolicy:
    """Limits for :func:`fetch_logo`.

    ``allow_private`` is for tests only: entries are CIDRs (``"127.0.0.1/32"``) whose
    addresses may be fetched though not public, or host names (``"localhost"``) whose
    resolved addresses may be. ``ssl_context`` replaces the default verifying context (tests
    trust their own CA with it); ``None`` means the system trust store.
    """

    timeout: float = 5.0
    max_bytes: int = MAX_LOGO_BYTES
    max_redirects: int = 3
    allow_private: tuple[str, ...] = ()
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects >= 0")
        for entry in self.allow_private:
            if not isinstance(entry, str) or not entry:
                raise ValueError(f"bad allow_private entry {entry!r}")

    def allows(self, address: IPAddress, host: str) -> bool:
        """True when ``address`` (reached as ``host``) may be connected to."""
        return address_allowed(self.allow_private, address, host)


DEFAULT_LOGO_POLICY: Final = LogoFetchPolicy()


def _failed(message: str) -> ApiError:
    return ApiError("LOGO_FETCH_FAILED", message, field="design.logo_url")


def _checked_url(raw: str) -> URL:
    if len(raw) > _MAX_URL_LENGTH:
        raise _failed("logo_url is too long")
    try:
        url = URL(raw)
        host = url.raw_host
    except (ValueError, TypeError):
        raise _failed("logo_url is not a valid URL") from None
    if url.scheme.lower() != "https":
        raise _failed("logo_url must use https://")
    if not host:
        raise _failed("logo_url must name a host")
    if url.raw_user is not None or url.raw_password is not None:
        raise _failed("logo_url must not contain credentials")
    return url


async def _vetted_addresses(url: URL, policy: LogoFetchPolicy) -> list[ResolveResult]:
    """Resolve and check the URL's host; ``[]`` for an IP literal (aiohttp will not resolve)."""
    try:
        return await vet_host(url.raw_host or "", url.port or 443, policy.allow_private)
    except BlockedAddressError as exc:
        raise _failed(f"logo_url {exc}") from None


async def _get_once(
    url: URL, addresses: list[ResolveResult], policy: LogoFetchPolicy
) -> tuple[int, str | None, bytes]:
    """One GET to the vetted addresses: ``(status, Location or None, body if 200)``."""
    connector = aiohttp.TCPConnector(
        resolver=PinnedResolver(url.raw_host or "", addresses),
        ssl=policy.ssl_context if policy.ssl_context is not None else True,
        use_dns_cache=False,
        force_close=True,
    )
    async with (
        aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # HTTPS_PROXY and friends would route around the checks
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=policy.timeout),
        ) as session,
        session.get(url, allow_redirects=False, headers=_HEADERS) as response,
    ):
        if response.status in _REDIRECT_STATUSES:
            return response.status, response.headers.get("Location"), b""
        if response.status != 200:
            return response.status, None, b""
        if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            raise _failed("logo_url sent a compressed body")
        if response.content_length is not None and response.content_length > policy.max_bytes:
            raise _failed("logo_url is larger than 1 MiB")
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > policy.max_bytes:
                # close(), not release(): drop the socket instead of draining the rest.
                response.close()
                raise _failed("logo_url is larger than 1 MiB")
        return 200, None, bytes(body)


async def _fetch(url: str, policy: LogoFetchPolicy) -> bytes:
    current = _checked_url(url)
    for _ in range(policy.max_redirects + 1):
        addresses = await _vetted_addresses(current, policy)
        status, location, body = await _get_once(current, addresses, policy)
        if status == 200:
            return body
        if location is None:
            raise _failed(f"logo_url answered HTTP {status}")
        try:
            target = str(current.join(URL(location)))
        except (ValueError, TypeError):
            raise _failed("logo_url redirected to an invalid URL") from None
        current = _checked_url(target)
    raise _failed(f"logo_url redirected more than {policy.max_redirects} times")


async def fetch_logo(url: str, policy: LogoFetchPolicy = DEFAULT_LOGO_POLICY) -> bytes:
    """Download a logo under ``policy`` and return checked bytes (SVG sanitised).

    Raises ``ApiError("LOGO_FETCH_FAILED", field="design.logo_url")`` for a non-https or
    malformed URL, a blocked address (refused before connecting), DNS/TCP/TLS failure, a
    non-200 answer, too many redirects, the deadline, a body over the cap, or bytes that are
    not a PNG/JPEG/SVG logo.
    """
    try:
        async with asyncio.timeout(policy.timeout):
            data = await _fetch(url, policy)
    except ApiError:
        raise
    except TimeoutError:
        raise _failed(f"logo_url did not answer within {policy.timeout:g} s") from None
    except aiohttp.ClientSSLError:
        raise _failed("logo_url TLS handshake or certificate check failed") from None
    except (aiohttp.ClientError, OSError, ValueError):
        # ValueError covers yarl/IDNA rejections of odd host names.
        raise _failed("logo_url could not be fetched") from None
    try:
        checked, _ = check_logo(data)
    except LogoError as exc:
        raise _failed(f"logo_url: {exc}") from None
    return checked
