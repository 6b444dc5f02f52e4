"""The image of a stored QR code, as its download route and its public URL answer it: redrawn
from the stored spec (logo bytes from the logos table), 304 when the client holds the ETag."""

from __future__ import annotations

from aiohttp import web

from services.gateway.backends.render import etag_for, render, request_from_record
from services.gateway.context import context_of
from services.gateway.http.image_cache import ImageCache
from services.gateway.http.image_responses import conditional_image
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.fit_warnings import warnings_header
from services.gateway.qrcodes.records import StoredQR


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
    # The warnings stored with the code: a redraw at the stored level does not raise it again.
    headers = {**headers, **warnings_header(warning["code"] for warning in record.warnings)}
    return await conditional_image(
        request,
        etag_for(render_request),
        headers,
        lambda: render(ctx.render_backend, render_request, record.account_id),
        cache,
    )
