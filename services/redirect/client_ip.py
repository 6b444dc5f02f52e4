"""The client address: the socket peer, or ``X-Forwarded-For`` when the peer is a trusted proxy.

The header is read right to left, skipping addresses of trusted proxies; the first untrusted
hop is the client. Anything unparsable stops the walk (a client can write any left part).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from services.redirect.settings import IPNetwork


def _trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


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
