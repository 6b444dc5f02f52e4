"""The image of a stored barcode, as its download route and its public URL answer it: redrawn
from the stored spec, 304 when the client holds the ETag."""

from __future__ import annotations

from aiohttp import web

from services.gateway.barcodes.records import StoredBarcode, barcode_etag, render_stored_barcode
from services.gateway.context import context_of
from services.gateway.http.image_cache import ImageCache
from services.gateway.http.image_responses import conditional_image


async def barcode_image(
    request: web.Request,
    record: StoredBarcode,
    output: str | None,
    headers: dict[str, str],
    cache: ImageCache | None = None,
) -> web.Response:
    ctx = context_of(request)
    return await conditional_image(
        request,
        barcode_etag(record, output),
        headers,
        lambda: render_stored_barcode(ctx.render_backend, record, output),
        cache,
    )
