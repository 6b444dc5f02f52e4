"""Reading a JSON request body under the rules of API.md's conventions."""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from services.runtime.errors import ApiError

MAX_BODY_BYTES: Final = 2 * 1024 * 1024


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless ``application/json``, 413 over 2 MiB,
    400 INVALID_JSON when it does not parse or is not an object."""
    if request.content_type != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as Content-Type: application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "The body is larger than 2 MiB")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError("PAYLOAD_TOO_LARGE", "The body is larger than 2 MiB") from None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("INVALID_JSON", "The body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError("INVALID_JSON", "The body must be a JSON object")
    return value
