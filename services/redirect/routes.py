"""The public route table: ``/<code>`` for GET, HEAD and POST; everything else is a 404 page."""

from __future__ import annotations

from aiohttp import web

from services.redirect.handlers import RedirectHandlers


def add_routes(app: web.Application, handlers: RedirectHandlers) -> None:
    app.router.add_get("/{code}", handlers.get, allow_head=False)
    app.router.add_route("HEAD", "/{code}", handlers.head)
    app.router.add_post("/{code}", handlers.post)
    app.router.add_route("*", "/{tail:.*}", handlers.not_found)
