"""``/v1/barcodes…``: parse, call the domain, shape."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from services.gateway.barcodes import storage
from services.gateway.barcodes.images import barcode_image
from services.gateway.barcodes.records import StoredBarcode, barcode_json, render_stored_barcode
from services.gateway.barcodes.values import OUTPUTS, parse_barcode_request
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.image_responses import (
    image_response,
    requested_image_format,
    with_inline_image,
)
from services.gateway.http.json_body import read_json_object
from services.gateway.http.pagination import page_params, pagination_json
from services.gateway.http.path_params import path_id
from services.gateway.tags.values import parse_tags, tag_filter
from services.runtime.errors import ApiError
from services.runtime.ids import new_id


async def generate(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    options = parse_barcode_request(body)
    tags = parse_tags(body.get("tags"))
    image_format = requested_image_format(request, OUTPUTS)
    if image_format is not None and image_format not in OUTPUTS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"barcodes are available as {', '.join(OUTPUTS)}",
            field="output",
        )
    record = StoredBarcode(
        barcode_id=new_id("bc"),
        account_id=principal.account_id,
        symbology=options.format,
        value=options.value,
        output=image_format or options.output,
        width=options.width,
        height=options.height,
        show_text=options.show_text,
        metadata=dict(options.metadata),
        created_at=datetime.now(UTC),
        tags=tags,
    )
    rendered = await render_stored_barcode(
        ctx.render_backend, record
    )  # verified before anything is stored
    stored = await storage.insert_barcode(ctx.pool, record)
    if image_format is not None:
        return image_response(rendered, {"X-Barcode-Id": stored.barcode_id})
    data = barcode_json(stored, ctx.settings.public_base_url)
    return ok(with_inline_image(data, body, rendered))


async def _owned(request: web.Request) -> StoredBarcode:
    ctx, principal = context_of(request), principal_of(request)
    barcode_id = path_id(request, "barcode_id", "bc")
    return await storage.get_owned_barcode(ctx.pool, principal.account_id, barcode_id)


async def list_barcodes(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    records, total = await storage.list_barcodes(
        ctx.pool, principal.account_id, limit=limit, offset=(page - 1) * limit,
        tag=tag_filter(request.query),
    )  # fmt: skip
    public_base_url = ctx.settings.public_base_url
    return ok(
        [barcode_json(record, public_base_url) for record in records],
        pagination=pagination_json(total, page, limit),
    )


async def get_barcode(request: web.Request) -> web.Response:
    return ok(barcode_json(await _owned(request), context_of(request).settings.public_base_url))


async def patch_barcode(request: web.Request) -> web.Response:
    """``PATCH /v1/barcodes/{barcode_id}`` ``{tags}``: a barcode's spec is its image, so tags
    are all that changes."""
    ctx, principal = context_of(request), principal_of(request)
    barcode_id = path_id(request, "barcode_id", "bc")
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"tags"})
    if unknown:
        raise ApiError("INVALID_PARAMETER", f"{unknown[0]} cannot be changed", field=unknown[0])
    if "tags" not in body:
        raise ApiError("INVALID_PARAMETER", "nothing to change", field="tags")
    tags = parse_tags(body["tags"])
    record = await storage.set_tags(ctx.pool, principal.account_id, barcode_id, tags)
    if record is None:
        raise ApiError("BARCODE_NOT_FOUND", "No barcode with this id in your account")
    return ok(barcode_json(record, ctx.settings.public_base_url))


async def delete_barcode(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    barcode_id = path_id(request, "barcode_id", "bc")
    if not await storage.delete_barcode(ctx.pool, principal.account_id, barcode_id):
        raise ApiError("BARCODE_NOT_FOUND", "No barcode with this id in your account")
    return ok({"barcode_id": barcode_id, "deleted": True})


async def download(request: web.Request) -> web.Response:
    record = await _owned(request)
    output = request.query.get("format") or None
    if output is not None and output not in OUTPUTS:
        raise ApiError(
            "INVALID_PARAMETER", f"format must be one of: {', '.join(OUTPUTS)}", field="format"
        )
    disposition = f'attachment; filename="{record.barcode_id}.{output or record.output}"'
    return await barcode_image(
        request,
        record,
        output,
        {"Content-Disposition": disposition, "Cache-Control": "private, no-cache"},
    )
