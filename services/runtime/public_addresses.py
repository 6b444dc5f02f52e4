"""Which network addresses an outgoing request to a customer-given URL may reach (SSRF rules).

Shared by the gateway's logo fetcher and the webhooks service's deliveries: only globally
routable unicast addresses (not loopback, private, link-local, multicast, reserved,
unspecified, shared 100.64/10, nor an IPv4-mapped / 6to4 / NAT64 IPv6 form of one of those),
unless an allowlist entry (development and tests only) admits the host or its address.

:func:`vet_host` resolves a host once and checks every answer (all or nothing);
:class:`PinnedResolver` then makes aiohttp connect to exactly those vetted addresses, so a DNS
answer that changes between check and connect (rebinding) cannot redirect the request.
Pure address logic plus one resolver call: no HTTP, no business errors (callers turn
:class:`BlockedAddressError` into their own).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolve = Callable[[str, int], Awaitable[Sequence[tuple[int, int, int, str, tuple[object, ...]]]]]
"""``getaddrinfo``-shaped: ``(host, port)`` → ``[(family, type, proto, canonname, sockaddr)]``."""

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


class BlockedAddressError(Exception):
    """The host cannot be resolved, or resolves to an address the rules refuse; the message
    is short and safe to show to the customer."""


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


def allowlisted(allowlist: Sequence[str], address: IPAddress, host: str) -> bool:
    """True when an entry names ``host`` (``"localhost"``) or is a CIDR (``"127.0.0.1/32"``)
    holding ``address``."""
    for entry in allowlist:
        if entry.lower() == host.lower():
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
    return False


def host_is_allowlisted(allowlist: Sequence[str], host: str) -> bool:
    """True when ``host`` itself (a name, or an IP literal inside a listed CIDR) is listed."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return allowlisted(allowlist, literal, host)
    return any(entry.lower() == host.lower() for entry in allowlist)


def address_allowed(allowlist: Sequence[str], address: IPAddress, host: str) -> bool:
    return allowlisted(allowlist, address, host) or is_public_address(address)


async def _system_resolve(
    host: str, port: int
) -> Sequence[tuple[int, int, int, str, tuple[object, ...]]]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [(int(f), int(t), p, c, tuple(s)) for f, t, p, c, s in infos]


async def vet_host(
    host: str, port: int, allowlist: Sequence[str], resolve: Resolve | None = None
) -> list[ResolveResult]:
    """Resolve ``host`` and check every answer; ``[]`` for an allowed IP literal (aiohttp
    does not resolve those). Raises :class:`BlockedAddressError`.

    ``resolve`` replaces the system resolver (tests inject DNS answers with it)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not address_allowed(allowlist, literal, host):
            raise BlockedAddressError("points to a private or reserved address")
        return []
    try:
        infos = await (resolve or _system_resolve)(host, port)
    except (OSError, UnicodeError):
        raise BlockedAddressError("host could not be resolved") from None
    results: list[ResolveResult] = []
    for family, _, proto, _, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]))
        # All or nothing: a name with one private answer is refused outright, whichever
        # address the connection would have tried first.
        if not address_allowed(allowlist, address, host):
            raise BlockedAddressError("host resolves to a private or reserved address")
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
        raise BlockedAddressError("host could not be resolved")
    return results


class PinnedResolver(AbstractResolver):
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
