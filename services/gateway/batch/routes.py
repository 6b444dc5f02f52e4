"""``POST /v1/qrcodes/batch``: parse, call the batch orchestration, shape."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.batch.creation import create_batch, parse_items
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.json_body import read_json_object
from services.gateway.qrcodes.dynamic_codes import announce_created


async def create(request: web.Request) -> web.Response:
    """Create up to 100 QR codes, static or dynamic, mixed: ``{"items": [...]}``.

    Each item is a static generate body, or a dynamic body with ``"kind": "dynamic"``, and is
    validated, rendered and stored on its own: the response is always 200 with one result per
    item, in request order, ``{index, success: true, data}`` or ``{index, success: false,
    error: {code, message, details}}``, plus ``succeeded`` and ``failed`` counts. More than 100
    items is 400 ``BATCH_TOO_LARGE``; ``items`` missing or not a list is 400
    ``INVALID_PARAMETER``. When nothing could be stored because a backing service failed, the
    whole request answers with that 5xx error instead.

    Limits: each stored item counts once against the plan's stored-code quota, checked item by
    item in request order, so a batch that reaches the quota stores the first items that fit and
    answers ``QUOTA_EXCEEDED`` for every later one. The batch counts **once** against the rate
    limit: the rate limit protects the gateway from floods of requests (one batch is one round
    trip, one authentication, one window slot), while the quota bounds what an account stores.
    Counting a batch once is what makes batching worth it to a client with a per-minute budget.
    """
    ctx, principal = context_of(request), principal_of(request)
    items = parse_items(await read_json_object(request))
    result = await create_batch(ctx.drawing, ctx.pool, ctx.settings, principal, items)
    # Codes with a client's slug (see announce_created), in results that succeeded.
    created = [
        item["data"]
        for item in result["results"]
        if item.get("data")
        and isinstance(items[item["index"]], dict)
        and items[item["index"]].get("slug") is not None
    ]
    domains = ctx.settings.short_domains
    await asyncio.gather(
        *(
            announce_created(
                ctx.catalog_events,
                data["qr_id"],
                data["slug"],
                getattr(domains.by_name(data["domain"]), "key", ""),
            )
            for data in created
            if data.get("kind") == "dynamic"
        )
    )
    return ok(result)
