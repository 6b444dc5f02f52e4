"""``POST /v1/qrcodes/batch``: parse, call the batch orchestration, shape."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from aiohttp import web

from services.gateway.batch.creation import (
    ItemResult,
    create_batch_items,
    parse_items,
    summary,
)
from services.gateway.batch.zip_archive import MANIFEST_NAME, ZipWriter, image_members, manifest
from services.gateway.context import GatewayContext, context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.json_body import read_json_object
from services.gateway.idempotency.policy import HEADER as IDEMPOTENCY_HEADER
from services.gateway.qrcodes.dynamic_codes import announce_created
from services.runtime.topics import CODE_CREATED

ZIP_TYPE: Final = "application/zip"


async def create(request: web.Request) -> web.StreamResponse:
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
    results = await create_batch_items(ctx.drawing, ctx.pool, ctx.settings, principal, items)
    for result in results:
        if result.record is not None:
            ctx.catalog_events.publish_soon(CODE_CREATED, result.record)
    await _announce_slugs(ctx, items, results)
    if wants_zip(request):
        return await _zip_response(request, results)
    return ok(summary(results))


async def _announce_slugs(ctx: GatewayContext, items: list[Any], results: list[ItemResult]) -> None:
    """Dynamic codes created with a client's slug evict the redirects' cached 404 of their
    short URL (see announce_created)."""
    await asyncio.gather(
        *(
            announce_created(
                ctx.catalog_events,
                result.record.qr_id,
                result.record.short_code,
                result.record.domain,
            )
            for result in results
            if result.record is not None
            and result.record.short_code is not None
            and isinstance(items[result.index], dict)
            and items[result.index].get("slug") is not None
        )
    )


def wants_zip(request: web.Request) -> bool:
    return any(
        part.split(";", 1)[0].strip().lower() == ZIP_TYPE
        for part in request.headers.get("Accept", "").split(",")
    )


async def _zip_response(request: web.Request, results: list[ItemResult]) -> web.StreamResponse:
    """The stored items' images and ``manifest.csv``, sent member by member -- or, under an
    ``Idempotency-Key``, built whole first: the idempotency layer stores (and replays) only a
    complete body, and a retry must not create the codes again."""
    headers = {
        "Content-Type": ZIP_TYPE,
        "Content-Disposition": 'attachment; filename="batch.zip"',
        "Cache-Control": "no-store",
    }
    archive = ZipWriter()
    members = [
        *((name, data, text) for name, data, text in image_members(results)),
        (MANIFEST_NAME, manifest(results), True),
    ]
    if IDEMPOTENCY_HEADER in request.headers:
        body = b"".join(archive.add(name, data, text=text) for name, data, text in members)
        return web.Response(body=body + archive.close(), headers=headers)
    response = web.StreamResponse(headers=headers)
    response.enable_chunked_encoding()
    await response.prepare(request)
    for name, data, text in members:
        await response.write(archive.add(name, data, text=text))
    await response.write_eof(archive.close())
    return response
