"""The client address: the socket peer, or ``X-Forwarded-For`` when the peer is a trusted proxy;
and the host the client asked for, from ``X-Forwarded-Host`` under the same rule.

The header is read right to left, skipping addresses of trusted proxies; the first untrusted
hop is the client. Anything unparsable stops the walk (a client can write any left part).
Shared by the services that face clients (redirect, gateway) so both read ``TRUSTED_PROXIES``
the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from services.runtime.config import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One subscriber is usually given a whole IPv6 /64: limiting per address would hand a single
# host 2^64 windows.
IPV6_SUBSCRIBER_PREFIX: Final = 64


def address_source(address: str) -> str:
    """The unit a per-address limit counts for: an IPv4 address, or an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket peer, say): count it as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(ip)


def parse_networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """CIDRs (or bare addresses) of the proxies allowed to set ``X-Forwarded-For``."""
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES: {value!r} is not an address or CIDR") from None
    return tuple(networks)


def _trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_source(peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str:
    """The unit per-address limits count for, from the request: see :func:`address_source`."""
    return address_source(client_ip(peer, forwarded_for, trusted))


def forwarded_host(
    peer: str | None, forwarded: str | None, trusted: Sequence[IPNetwork]
) -> str | None:
    """The host a trusted proxy says the client asked for (``X-Forwarded-Host``), or ``None``
    (no header, or the peer is no trusted proxy: then its ``Host`` is the truth). With several
    values the last one counts: it is the one the trusted proxy itself wrote."""
    if not trusted or not forwarded or not _trusted(peer or "", trusted):
        return None
    host = forwarded.rsplit(",", 1)[-1].strip()
    return host or None


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str:
    peer = peer or ""
    if not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not hop:
            break
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        if not _trusted(hop, trusted):
            return hop
        peer = hop
    return peer
