"""The public route table: ``/<code>`` for GET, HEAD and POST, other methods there a 405, every
other path a 404 page.

It runs on aiohttp's low-level server (:class:`aiohttp.web.Server`) rather than an
``Application``: with one route shape there is nothing for a router, middleware chain or
per-request match info to do, and on the cache-hit redirect they cost about a sixth of the
request (callgrind, same bare 302: 176k instructions per request through an Application,
147k through the low-level server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from services.redirect import pages
from services.redirect.handlers import RedirectHandlers
from services.runtime.http_server import GuardedServer, HttpLimits

MAX_BODY_BYTES: Final = 16 * 1024  # the password form; a larger one is unreadable (400)
ALLOWED_METHODS: Final = "GET, HEAD, POST"

Dispatch = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def route(handlers: RedirectHandlers) -> Dispatch:
    get_cached, get = handlers.get_cached, handlers.get
    head, post, not_found = handlers.head, handlers.post, handlers.not_found

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        code = request.path[1:]
        if not code or "/" in code:
            return not_found()
        method = request.method
        if method == "GET":
            cached = get_cached(request, code)
            return cached if cached is not None else await get(request, code)
        if method == "HEAD":
            return await head(request, code)
        if method == "POST":
            return await post(request, code)
        return pages.method_not_allowed(ALLOWED_METHODS)

    return dispatch


def create_server(handlers: RedirectHandlers, limits: HttpLimits) -> web.Server:
    loop = asyncio.get_running_loop()

    def new_request(
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=MAX_BODY_BYTES
        )

    return GuardedServer(
        route(handlers),
        request_factory=new_request,
        limits=limits,
        refusal=pages.refused,
        access_log=None,
    )
