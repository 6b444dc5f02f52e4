"""``/v1/qrcodes…`` (static codes, lists, records, downloads): parse, call the domain, shape."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Final

from aiohttp import web

from services.gateway.backends.render import render, request_from_options
from services.gateway.context import context_of, principal_of
from services.gateway.designs.saved_designs import with_saved_design
from services.gateway.http.client_json import loads_client_json
from services.gateway.http.envelope import ok
from services.gateway.http.image_responses import (
    image_response,
    requested_image_format,
)
from services.gateway.http.json_body import read_json_object
from services.gateway.http.pagination import page_params, pagination_json
from services.gateway.http.path_params import bounded_int, is_well_formed_id, path_id
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.dynamic_codes import announce_deleted
from services.gateway.qrcodes.fit_warnings import warnings_header
from services.gateway.qrcodes.images import qr_image
from services.gateway.qrcodes.name_search import name_query
from services.gateway.qrcodes.options import (
    FORMATS,
    SIZE_RANGE,
    parse_qr_options,
    qr_query_body,
)
from services.gateway.qrcodes.payloads import QR_TYPES, build_payload, payload_warnings
from services.gateway.qrcodes.records import StoredQR, qr_json
from services.gateway.qrcodes.responses import created_qr_response, detailed_qr_json
from services.gateway.qrcodes.static_codes import create_static_code, draw_static_preview
from services.gateway.tags.values import tag_filter
from services.runtime.errors import ApiError
from services.runtime.topics import CODE_CREATED

KINDS: Final = ("static", "dynamic")


async def generate(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    image_format = requested_image_format(request)
    record, rendered = await create_static_code(
        ctx.drawing, ctx.qr_inserts, principal, body, fmt=image_format
    )
    ctx.catalog_events.publish_soon(CODE_CREATED, record)
    return created_qr_response(ctx.settings, record, rendered, body, image_format, status=200)


async def generate_embed(request: web.Request) -> web.Response:
    """``GET /v1/qrcodes/generate?…``: image bytes for ``<img src>`` and ``curl -o``; stores nothing."""
    ctx, principal = context_of(request), principal_of(request)
    qr_type, content, body = qr_query_body(request.query)
    body["design_id"] = request.query.get("design_id") or None
    body = await with_saved_design(ctx.pool, principal.account_id, body)
    options = parse_qr_options(body)
    payload = build_payload(qr_type, content)
    rendered = await render(
        ctx.render_backend, request_from_options(payload, options), principal.account_id
    )
    warnings = (*payload_warnings(qr_type, content), *rendered.warnings)
    headers = {
        "Cache-Control": "private, max-age=300",
        **warnings_header(warning.code for warning in warnings),
    }
    return image_response(rendered, headers)


async def preview(request: web.Request) -> web.Response:
    """``POST /v1/qrcodes/preview``: the image of a static-code body, logo bytes included
    (which no URL can carry), stored nowhere: what an editor shows while options change."""
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    rendered = await draw_static_preview(
        ctx.drawing, principal, body, fmt=requested_image_format(request)
    )
    headers = {
        "Cache-Control": "no-store",
        **warnings_header(warning.code for warning in rendered.warnings),
    }
    return image_response(rendered, headers)


def encode_cursor(record: StoredQR) -> str:
    raw = json.dumps([record.created_at.isoformat(), record.qr_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, qr_id = loads_client_json(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        if not isinstance(qr_id, str) or not is_well_formed_id(qr_id, "qr"):
            raise ValueError("not one of our ids")
        return datetime.fromisoformat(created), qr_id
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(
            "INVALID_PARAMETER", "cursor is not one this API returned", field="cursor"
        ) from None


async def list_codes(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    page, limit = page_params(request)
    qr_type = request.query.get("type") or None
    if qr_type is not None and qr_type not in QR_TYPES:
        raise ApiError("INVALID_TYPE", f"type must be one of: {', '.join(QR_TYPES)}", field="type")
    kind = request.query.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise ApiError("INVALID_PARAMETER", "kind must be static or dynamic", field="kind")
    tag = tag_filter(request.query)
    name_contains = name_query(request.query)
    cursor = request.query.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    records, total = await storage.list_qr(
        ctx.pool, principal.account_id, qr_type=qr_type, kind=kind, limit=limit,
        offset=(page - 1) * limit, after=after, tag=tag, name_contains=name_contains,
    )  # fmt: skip
    has_more = len(records) == limit and (after is not None or page * limit < total)
    next_cursor = encode_cursor(records[-1]) if has_more else None
    return ok(
        [qr_json(record, ctx.settings) for record in records],
        pagination=pagination_json(total, page, limit, next_cursor),
    )


async def _owned(request: web.Request) -> StoredQR:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = path_id(request, "qr_id", "qr")
    return await storage.get_owned_qr(ctx.pool, principal.account_id, qr_id)


async def get_code(request: web.Request) -> web.Response:
    ctx = context_of(request)
    return ok(await detailed_qr_json(ctx.analytics, ctx.settings, await _owned(request)))


async def delete_code(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = path_id(request, "qr_id", "qr")
    deleted = await storage.delete_qr(ctx.pool, principal.account_id, qr_id)
    if deleted is None:
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    await announce_deleted(ctx.catalog_events, deleted)
    return ok({"qr_id": qr_id, "deleted": True})


async def download(request: web.Request) -> web.Response:
    record = await _owned(request)
    fmt = request.query.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise ApiError(
            "INVALID_PARAMETER", f"format must be one of {', '.join(FORMATS)}", field="format"
        )
    raw_size = request.query.get("size") or None
    size = None if raw_size is None else bounded_int(raw_size, "size", *SIZE_RANGE)
    ext = fmt or record.format
    disposition = f'attachment; filename="{record.qr_id}.{ext}"'
    return await qr_image(
        request,
        record,
        fmt,
        size,
        {"Content-Disposition": disposition, "Cache-Control": "private, no-cache"},
    )
