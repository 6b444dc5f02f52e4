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
from redis.exceptions import RedisError

from services.gateway.account.rate_limit import InMemorySlidingWindow, RateDecision, Window
from services.gateway.context import RATE_DECISION, context_of
from services.runtime.client_ip import address_source, client_ip
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

_fallback_window = InMemorySlidingWindow()


async def _weigh(request: web.Request, window: Window) -> RateDecision:
    limiter = context_of(request).limiter
    try:
        return await limiter.hit([window])
    except (RedisError, OSError):
        # As for keys: a Redis outage degrades to per-replica limits, it fails no request.
        log.warning("shared rate limiter unavailable, limiting public images in-process")
        return await _fallback_window.hit([window])


async def count_public_image_request(request: web.Request) -> None:
    """Count this request for its client address; RATE_LIMIT_EXCEEDED (with ``Retry-After``)
    once the address is over the limit."""
    settings = context_of(request).settings
    address = client_ip(
        request.remote, request.headers.get("X-Forwarded-For"), settings.trusted_proxies
    )
    window = Window(
        f"public-images:{address_source(address)}", settings.public_image_requests_per_min
    )
    decision = await _weigh(request, window)
    if not decision.allowed:
        request[RATE_DECISION] = decision  # the rate-limit headers and Retry-After go on the 429
        raise ApiError(
            "RATE_LIMIT_EXCEEDED",
            f"Rate limit of {decision.limit} image requests per minute from this address exceeded",
            details={"retry_after": decision.retry_after},
        )
