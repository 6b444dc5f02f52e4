"""``POST /v1/decode``: read the image body, have render decode it, shape the results."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.gateway.backends.render import decode_image
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import ok
from services.gateway.http.image_body import read_image_body
from services.runtime.errors import ApiError

IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024  # render refuses more too (decode_limits)
# Bounds what is forwarded; render knows the names (they follow its reader) and checks them.
MAX_FORMATS_CHARS: Final = 1024


def requested_formats(request: web.Request) -> list[str]:
    """``?formats=QR,EAN13`` (or the parameter repeated) as upper-case names, in order, each
    once; none: every format."""
    raw = ",".join(request.query.getall("formats", []))
    if len(raw) > MAX_FORMATS_CHARS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"formats must be at most {MAX_FORMATS_CHARS} characters",
            field="formats",
        )
    names = (name.strip().upper() for name in raw.split(","))
    return list(dict.fromkeys(name for name in names if name))


async def decode(request: web.Request) -> web.Response:
    ctx, principal = context_of(request), principal_of(request)
    formats = requested_formats(request)
    image = await read_image_body(request, IMAGE_TYPES, MAX_IMAGE_BYTES)
    symbols = await decode_image(ctx.render_backend, image, principal.account_id, formats)
    results = [
        {
            "format": symbol.format,
            "text": symbol.text,
            "position": [[point.x, point.y] for point in symbol.position],
        }
        for symbol in symbols
    ]
    return ok({"results": results})
