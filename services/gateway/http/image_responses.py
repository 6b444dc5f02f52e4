"""Answering with images: ``Accept`` negotiation, conditional (ETag) responses and the
``include_image`` copy inside a JSON answer, shared by the QR, barcode and batch routes."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from aiohttp import web

from services.gateway.backends.render import FORMAT_BY_CONTENT_TYPE, Rendered
from services.gateway.http.image_cache import ImageCache


def requested_image_format(
    request: web.Request, offered: Collection[str] | None = None
) -> str | None:
    """The image format an ``Accept`` header asks for, if it asks for one of ours.

    The first type listed that the route ``offered`` wins (a browser-style
    ``image/webp,image/png`` gets png from a route without webp); when none of the types
    asked for is offered, the first one asked for is returned, for the route to refuse.
    """
    asked = [
        FORMAT_BY_CONTENT_TYPE[mime]
        for part in request.headers.get("Accept", "").split(",")
        if (mime := part.split(";", 1)[0].strip().lower()) in FORMAT_BY_CONTENT_TYPE
    ]
    if offered is not None:
        for fmt in asked:
            if fmt in offered:
                return fmt
    return asked[0] if asked else None


def with_inline_image(
    data: dict[str, Any], body: Mapping[str, Any], rendered: Rendered
) -> dict[str, Any]:
    """``data`` with the image as ``image_base64`` when the request body said
    ``"include_image": true`` (anything else, ``1`` included, leaves it out)."""
    if body.get("include_image") is True:
        data["image_base64"] = base64.b64encode(rendered.data).decode()
    return data


def image_response(rendered: Rendered, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=rendered.data, content_type=rendered.content_type, headers=headers)


async def conditional_image(
    request: web.Request,
    etag: str,
    headers: dict[str, str],
    draw: Callable[[], Awaitable[Rendered]],
    cache: ImageCache | None = None,
) -> web.Response:
    """304 when the client already holds ``etag`` (nothing is drawn), else the image: from
    ``cache`` when given and it holds ``etag``, else drawn (and kept there).

    The ETag comes from the render request, so it is known before any pixel is drawn.
    """
    headers = {**headers, "ETag": etag}
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    image = await (draw() if cache is None else cache.get_or_draw(etag, draw))
    return image_response(image, headers)
