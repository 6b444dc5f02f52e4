"""Which window a failed authentication counts in: one per client address.

Without it an attacker could try keys as fast as the keys service answers. The address is the
socket peer, or what a trusted proxy wrote in ``X-Forwarded-For`` (never what an untrusted peer
wrote: rotating that header would otherwise give each guess a fresh window).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from services.gateway.account.rate_limit import Window
from services.runtime.client_ip import IPNetwork, client_ip

# One subscriber is usually given a whole IPv6 /64: counting per address would hand a single
# host 2^64 windows.
IPV6_SUBSCRIBER_PREFIX: Final = 64


def address_source(address: str) -> str:
    """The unit that failures are counted for: an IPv4 address, or an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket peer, say): count it as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(ip)


def failure_window(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork], limit: int
) -> Window:
    source = address_source(client_ip(peer, forwarded_for, trusted))
    return Window(f"auth-failures:{source}", limit)
