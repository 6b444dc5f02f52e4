"""``/v1/qrcodes…`` and the public ``/i/<qr_id>.<ext>``: parse, call the domain, shape."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from services.gateway.backends.analytics import total_scans
from services.gateway.backends.render import (
    etag_for,
    render,
    request_from_options,
    request_from_record,
)
from services.gateway.context import context_of, principal_of
from services.gateway.http.client_json import loads_client_json
from services.gateway.http.envelope import ok
from services.gateway.http.image_cache import ImageCache
from services.gateway.http.image_responses import (
    conditional_image,
    image_response,
    requested_image_format,
)
from services.gateway.http.json_body import read_json_object
from services.gateway.http.path_params import bounded_int, is_well_formed_id, path_id
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.dynamic_codes import announce_deleted
from services.gateway.qrcodes.options import FORMATS, SIZE_RANGE, parse_qr_query
from services.gateway.qrcodes.payloads import QR_TYPES, build_payload
from services.gateway.qrcodes.records import StoredQR, dynamic_qr_json, static_qr_json
from services.gateway.qrcodes.static_codes import create_static_code
from services.runtime.errors import ApiError

KINDS: Final = ("static", "dynamic")


def record_json(
    record: StoredQR, request: web.Request, total_scans: int | None = None
) -> dict[str, Any]:
    settings = context_of(request).settings
    if record.kind == "dynamic":
        return dynamic_qr_json(
            record, settings.public_base_url, settings.redirect_base_url, total_scans
        )
    return static_qr_json(record, settings.public_base_url)


async def detailed_record_json(record: StoredQR, request: web.Request) -> dict[str, Any]:
    """A single record, with its scan total for dynamic codes (lists leave it out: one
    analytics call per row would make a page slow)."""
    if record.kind != "dynamic":
        return record_json(record, request)
    totals = await total_scans(context_of(request), record.account_id, record.qr_id)
    return record_json(record, request, totals)


async def generate(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    body = await read_json_object(request)
    image_format = requested_image_format(request)
    record, rendered = await create_static_code(ctx, principal, body, fmt=image_format)
    if image_format is not None:
        return image_response(rendered, {"X-QR-Id": record.qr_id})
    data = record_json(record, request)
    if body.get("include_image") is True:
        data["image_base64"] = base64.b64encode(rendered.data).decode()
    return ok(data)


async def generate_embed(request: web.Request) -> web.Response:
    """``GET /v1/qrcodes/generate?…``: image bytes for ``<img src>`` and ``curl -o``; stores nothing."""
    ctx, principal = context_of(request), principal_of(request)
    qr_type, content, options = parse_qr_query(request.query)
    payload = build_payload(qr_type, content)
    rendered = await render(ctx, request_from_options(payload, options), principal.account_id)
    return image_response(rendered, {"Cache-Control": "private, max-age=300"})


def page_params(request: web.Request) -> tuple[int, int]:
    def number(key: str, default: int, low: int, high: int) -> int:
        raw = request.query.get(key, "")
        return default if raw == "" else bounded_int(raw, key, low, high)

    return number("page", 1, 1, 1_000_000), number("limit", 20, 1, 100)


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
    cursor = request.query.get("cursor")
    after = decode_cursor(cursor) if cursor else None
    records, total = await storage.list_qr(
        ctx.pool, principal.account_id, qr_type=qr_type, kind=kind, limit=limit,
        offset=(page - 1) * limit, after=after,
    )  # fmt: skip
    pages = (total + limit - 1) // limit
    has_more = len(records) == limit and (after is not None or page * limit < total)
    return ok(
        [record_json(record, request) for record in records],
        pagination={
            "total": total,
            "page": page,
            "limit": limit,
            "pages": pages,
            "next_cursor": encode_cursor(records[-1]) if has_more else None,
        },
    )


async def _owned(request: web.Request) -> StoredQR:
    ctx, principal = context_of(request), principal_of(request)
    record = await storage.get_qr(ctx.pool, principal.account_id, path_id(request, "qr_id", "qr"))
    if record is None:
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    return record


async def get_code(request: web.Request) -> web.Response:
    return ok(await detailed_record_json(await _owned(request), request))


async def delete_code(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = path_id(request, "qr_id", "qr")
    deleted = await storage.delete_qr(ctx.pool, principal.account_id, qr_id)
    if deleted is None:
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    await announce_deleted(ctx, deleted)
    return ok({"qr_id": qr_id, "deleted": True})


async def qr_image(
    request: web.Request,
    record: StoredQR,
    fmt: str | None,
    size: int | None,
    headers: dict[str, str],
    cache: ImageCache | None = None,
) -> web.Response:
    ctx = context_of(request)
    logo = await storage.load_logo(ctx.pool, record.logo_sha256) if record.logo_sha256 else None
    render_request = request_from_record(record, logo, fmt=fmt, size=size)
    return await conditional_image(
        request,
        etag_for(render_request),
        headers,
        lambda: render(ctx, render_request, record.account_id),
        cache,
    )


async def download(request: web.Request) -> web.Response:
    record = await _owned(request)
    fmt = request.query.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise ApiError("INVALID_PARAMETER", "format must be png, svg or pdf", field="format")
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
