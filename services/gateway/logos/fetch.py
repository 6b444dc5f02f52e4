"""Fetch a ``design.logo_url`` without letting clients reach into our network (SSRF).

Contract of :func:`fetch_logo`: only ``https://`` URLs; every address a host name resolves
to must be public (not loopback, private, link-local, multicast, reserved, unspecified,
shared 100.64/10, nor an IPv4-mapped / 6to4 / NAT64 IPv6 form of one of those), checked
*before* any connection is opened; the connection then goes to exactly the addresses that
were checked (a resolver pinned to them), so a DNS answer that changes between check and
connect (rebinding) cannot redirect it. Redirects are followed by hand, at most
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
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from services.gateway.logos.images import (
    MAX_LOGO_BYTES,
    LogoError,
    check_logo,
    decode_logo_data,
    sanitize_svg,
)
from services.runtime.errors import ApiError

__all__ = [
    "DEFAULT_LOGO_POLICY",
    "LogoFetchPolicy",
    "decode_logo_data",
    "fetch_logo",
    "is_public_address",
    "sanitize_svg",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024
_MAX_URL_LENGTH: Final = 2048
_HEADERS: Final = {
    "User-Agent": "QRForge-logo-fetch/1",
    "Accept": "image/png, image/jpeg, image/svg+xml",
    # A compressed body could expand far past the cap inside a single read.
    "Accept-Encoding": "identity",
}
# Ranges is_global does not (or, depending on the Python patch release, may not) cover.
_BLOCKED_V4: Final = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast: Python counts it as global
        "240.0.0.0/4",
    )
)
_BLOCKED_V6: Final = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo: the tunnel endpoint is not what the address says
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


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
        for entry in self.allow_private:
            if entry.lower() == host.lower():
                return True
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if address.version == network.version and address in network:
                return True
        return is_public_address(address)


DEFAULT_LOGO_POLICY: Final = LogoFetchPolicy()


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the translation forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (see the module docstring).

    IPv6 forms that embed an IPv4 address (``::ffff:a.b.c.d``, ``2002:AABB:CCDD::``,
    ``64:ff9b::a.b.c.d``) are judged by the embedded address, because that is where the
    packets end up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        blocked: tuple[ipaddress.IPv4Network, ...] | tuple[ipaddress.IPv6Network, ...]
        blocked = _BLOCKED_V6
    else:
        blocked = _BLOCKED_V4
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return not any(address in network for network in blocked)


class _PinnedResolver(AbstractResolver):
    """Answers for one host with the addresses already vetted, and refuses anything else."""

    def __init__(self, host: str, results: list[ResolveResult]) -> None:
        self._host = host
        self._results = results

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != self._host:
            raise OSError("host was not vetted")
        results = [
            ResolveResult({**result, "port": port or result["port"]})
            for result in self._results
            if family in (socket.AF_UNSPEC, result["family"])
        ]
        if not results:
            raise OSError("no vetted address for this address family")
        return results

    async def close(self) -> None:
        return None


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
    host = url.raw_host or ""
    port = url.port or 443
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not policy.allows(literal, host):
            raise _failed("logo_url points to a private or reserved address")
        return []
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        raise _failed("logo_url host could not be resolved") from None
    results: list[ResolveResult] = []
    for family, _, proto, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        # All or nothing: a name with one private answer is refused outright, whichever
        # address the connection would have tried first.
        if not policy.allows(address, host):
            raise _failed("logo_url host resolves to a private or reserved address")
        results.append(
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=family,
                proto=proto,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
        )
    if not results:
        raise _failed("logo_url host could not be resolved")
    return results


async def _get_once(
    url: URL, addresses: list[ResolveResult], policy: LogoFetchPolicy
) -> tuple[int, str | None, bytes]:
    """One GET to the vetted addresses: ``(status, Location or None, body if 200)``."""
    connector = aiohttp.TCPConnector(
        resolver=_PinnedResolver(url.raw_host or "", addresses),
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
