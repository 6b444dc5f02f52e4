"""One attempt's limits against a real local server: the timeout (scaled down: 9 s and 11 s
against 10 s become 0.9 and 1.1 against 1), the read cap, no redirects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.webhooks.http_delivery import HttpSender

TIMEOUT_S = 1.0


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["s"]))
        return web.Response(text="ok")

    async def huge(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * (4 * 1024 * 1024))

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/elsewhere")

    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/huge", huge)
    app.router.add_post("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    sending = HttpSender(("127.0.0.1/32",), timeout_s=TIMEOUT_S, max_response_bytes=64 * 1024)
    yield sending
    await sending.close()


async def test_a_slow_answer_within_the_timeout_is_accepted(
    server: str, sender: HttpSender
) -> None:
    result = await sender.post(f"{server}/slow?s={0.9 * TIMEOUT_S}", {}, b"{}")
    assert result.accepted and result.status_code == 200


async def test_a_too_slow_answer_is_a_failed_attempt(server: str, sender: HttpSender) -> None:
    result = await sender.post(f"{server}/slow?s={1.1 * TIMEOUT_S}", {}, b"{}")
    assert not result.accepted and result.status_code is None
    assert result.error == f"no answer within {TIMEOUT_S:g} s"


async def test_a_huge_answer_is_cut_at_the_cap(server: str, sender: HttpSender) -> None:
    result = await sender.post(f"{server}/huge", {}, b"{}")
    assert result.accepted  # the status counts; the body is never kept
    again = await sender.post(f"{server}/slow?s=0", {}, b"{}")  # the client still works
    assert again.accepted


async def test_redirects_are_not_followed(server: str, sender: HttpSender) -> None:
    result = await sender.post(f"{server}/moved", {}, b"{}")
    assert (result.status_code, result.error) == (302, "HTTP 302")
