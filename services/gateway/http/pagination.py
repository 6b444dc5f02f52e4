"""Page-number pagination of the list routes: the ``page`` and ``limit`` query parameters and
the ``pagination`` object every list answer carries."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.gateway.http.path_params import bounded_int


def page_params(request: web.Request) -> tuple[int, int]:
    """``(page, limit)``: page 1 and 20 a page unless asked, at most 100 a page."""

    def number(key: str, default: int, low: int, high: int) -> int:
        raw = request.query.get(key, "")
        return default if raw == "" else bounded_int(raw, key, low, high)

    return number("page", 1, 1, 1_000_000), number("limit", 20, 1, 100)


def pagination_json(
    total: int, page: int, limit: int, next_cursor: str | None = None
) -> dict[str, Any]:
    return {
        "total": total,
        "page": page,
        "limit": limit,
        "pages": (total + limit - 1) // limit,
        "next_cursor": next_cursor,
    }
