"""``/v1/account/usage``: what the caller's plan allows and how much of it is used."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.backends.analytics import scans_this_month
from services.gateway.context import context_of, principal_of, rate_decision_of
from services.gateway.http.envelope import ok
from services.gateway.qrcodes import storage


async def usage(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    # The same decision the X-RateLimit-* headers of this response report: the tighter of the
    # account's and the key's windows, this request counted.
    decision = rate_decision_of(request)
    own_limit = principal.key_rate_limit_per_min
    limit = min(principal.rate_limit_per_min, own_limit or principal.rate_limit_per_min)
    (qr_used, barcodes_used), scans = await asyncio.gather(
        storage.count_codes(ctx.pool, principal.account_id),
        scans_this_month(ctx.analytics, principal.account_id),
    )
    return ok(
        {
            "plan": principal.plan,
            "rate_limit": {
                "limit": decision.limit if decision else limit,
                "remaining": decision.remaining if decision else limit,
                "reset": decision.reset_at if decision else None,
            },
            "qr_codes": {"used": qr_used, "limit": principal.max_codes or None},
            "barcodes": {"used": barcodes_used},
            "scans_this_month": scans,
        }
    )
