"""How often one client may fetch public images (``/i/<id>.<ext>``): a 60 s window per address.

The route needs no key, so the per-account limits never see it: without this, one client could
make the gateway look codes up and draw images as fast as it can ask. The address is the socket
peer, or what a trusted proxy wrote in ``X-Forwarded-For`` (an untrusted peer's header is
ignored, else rotating it would give every request a fresh window); an IPv6 client counts per
/64. Behind a CDN most fetches never reach the gateway, so the default leaves room for many
people behind one NAT.
"""

from __future__ import annotations

import logging

from aiohttp import web

from services.gateway.account.rate_limit import Window
from services.gateway.context import RATE_DECISION, context_of
from services.runtime.client_ip import client_source
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)


async def count_public_image_request(request: web.Request) -> None:
    """Count this request for its client address; RATE_LIMIT_EXCEEDED (with ``Retry-After``)
    once the address is over the limit."""
    ctx = context_of(request)
    source = client_source(
        request.remote, request.headers.get("X-Forwarded-For"), ctx.settings.trusted_proxies
    )
    window = Window(f"public-images:{source}", ctx.settings.public_image_requests_per_min)
    decision = await ctx.limiter.hit([window])
    if not decision.allowed:
        request[RATE_DECISION] = decision  # the rate-limit headers and Retry-After go on the 429
        raise ApiError(
            "RATE_LIMIT_EXCEEDED",
            f"Rate limit of {decision.limit} image requests per minute from this address exceeded",
            details={"retry_after": decision.retry_after},
        )
