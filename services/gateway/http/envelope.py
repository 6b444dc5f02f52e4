"""The response envelope of API.md: ``{"success": true, "data": …}`` and friends."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from services.runtime.errors import ApiError


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ok(data: Any, *, status: int = 200, pagination: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return web.json_response(body, status=status, dumps=_dumps)


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.to_body(), status=error.status, dumps=_dumps)


def refused_request(status: int) -> web.Response:
    """The answer to a request aiohttp refused before the application saw it (malformed HTTP:
    a control byte or an 8 KiB line in a header) or that failed outside it. Generic on
    purpose: the parser's own message quotes the request, credentials included."""
    if status < 500:
        return error_response(ApiError("INVALID_PARAMETER", "The request is not well-formed HTTP"))
    return error_response(ApiError("INTERNAL_ERROR", "Internal error"))
