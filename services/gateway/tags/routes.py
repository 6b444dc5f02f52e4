"""``GET /v1/tags``: the account's tags with how many codes carry each. Parse, read, shape."""

from __future__ import annotations

from aiohttp import web

from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.pagination import page_params, pagination_json
from services.gateway.tags import storage


async def list_tags(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    tags, total = await storage.account_tags(
        ctx.pool, principal.account_id, limit=limit, offset=(page - 1) * limit
    )
    return ok(
        [{"tag": t.tag, "qr_codes": t.qr_codes, "barcodes": t.barcodes} for t in tags],
        pagination=pagination_json(total, page, limit),
    )
