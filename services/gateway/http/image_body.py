"""Reading an image sent as the raw request body (``POST /v1/decode``).

The app's ``client_max_size`` is sized for JSON bodies (2 MiB); an image may be larger, so it
is read through a clone of the request carrying its own limit. Refused before reading: a
content type that is not an accepted image type (415), a declared length over the limit (413).
"""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import web

from services.runtime.errors import ApiError
from services.runtime.http_body import IncompleteBodyError, read_request_body


async def read_image_body(
    request: web.Request, content_types: Collection[str], max_bytes: int
) -> bytes:
    """The body's bytes: 415 UNSUPPORTED_MEDIA_TYPE unless its type is one of
    ``content_types``, 413 PAYLOAD_TOO_LARGE over ``max_bytes``, 400 INVALID_IMAGE when it does
    not arrive whole. Whether the bytes are an image is the decoder's call."""
    if request.content_type not in content_types:
        raise ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"Send the image with Content-Type {', '.join(sorted(content_types))}",
        )
    too_large = ApiError("PAYLOAD_TOO_LARGE", f"The image is larger than {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    try:
        reader = request.clone(client_max_size=max_bytes)
    except RuntimeError:
        # Already read whole under the app's smaller limit (the idempotency middleware reads
        # small bodies first): the request returns it from its cache.
        reader = request
    try:
        return await read_request_body(reader)
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    except IncompleteBodyError as exc:
        raise ApiError("INVALID_IMAGE", str(exc)) from None
