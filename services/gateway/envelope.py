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
