"""``POST /v1/qrcodes/dynamic``, ``PUT …/destination``, ``PATCH /v1/qrcodes/{qr_id}``,
``GET /v1/domains``."""

from __future__ import annotations

from aiohttp import web

from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.image_responses import (
    requested_image_format,
)
from services.gateway.http.json_body import read_json_object
from services.gateway.http.path_params import path_id
from services.gateway.qrcodes.dynamic_codes import (
    announce_created,
    change_destination,
    create_dynamic_code,
    patch_code,
)
from services.gateway.qrcodes.responses import created_qr_response, detailed_qr_json
from services.runtime.topics import CODE_CREATED


async def create(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    image_format = requested_image_format(request)
    record, rendered = await create_dynamic_code(
        ctx.drawing, ctx.pool, principal, body, fmt=image_format
    )
    ctx.catalog_events.publish_soon(CODE_CREATED, record)
    if body.get("slug") is not None and record.short_code is not None:
        await announce_created(ctx.catalog_events, record.qr_id, record.short_code, record.domain)
    return created_qr_response(ctx.settings, record, rendered, body, image_format, status=201)


async def put_destination(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    qr_id = path_id(request, "qr_id", "qr")
    record = await change_destination(ctx.pool, ctx.catalog_events, principal, qr_id, body)
    return ok(await detailed_qr_json(ctx.analytics, ctx.settings, record))


async def list_domains(request: web.Request) -> web.Response:
    """The short domains codes may use (``SHORT_DOMAINS``), the default one first."""
    domains = context_of(request).settings.short_domains.domains
    return ok(
        [
            {"domain": domain.name, "base_url": domain.base_url, "default": domain.default}
            for domain in domains
        ]
    )


async def patch(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    qr_id = path_id(request, "qr_id", "qr")
    record = await patch_code(ctx.pool, ctx.catalog_events, ctx.drawing, principal, qr_id, body)
    return ok(await detailed_qr_json(ctx.analytics, ctx.settings, record))
