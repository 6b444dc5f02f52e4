"""Endpoint URLs follow the logo-fetch rules, at creation and again at every delivery: a DNS
answer that changes to a private address after creation (rebinding) is never called."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest
from aiohttp import web

from services.runtime.errors import ApiError
from services.webhooks.http_delivery import HttpSender
from services.webhooks.url_safety import check_endpoint_url


class Dns:
    """An injectable resolver whose answer the test changes."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked = 0

    async def __call__(
        self, host: str, port: int
    ) -> Sequence[tuple[int, int, int, str, tuple[object, ...]]]:
        self.asked += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.address, port))]


@pytest.mark.parametrize(
    ("url", "allowlist"),
    [
        ("http://hooks.example.com/x", ()),  # plain http
        ("https://user:pw@hooks.example.com/x", ()),
        ("https://10.1.2.3/x", ()),
        ("https://[::ffff:127.0.0.1]/x", ()),
        ("https://169.254.169.254/latest/meta-data", ()),
        ("ftp://hooks.example.com/x", ()),
        ("http://127.0.0.2/x", ("127.0.0.1",)),  # another address than the listed one
        ("/relative", ()),
    ],
)
async def test_unsafe_urls_are_refused_on_the_url_field(
    url: str, allowlist: tuple[str, ...]
) -> None:
    with pytest.raises(ApiError) as refused:
        await check_endpoint_url(url, allowlist, Dns("93.184.216.34"))
    assert refused.value.code == "INVALID_PARAMETER" and refused.value.field == "url"


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    with pytest.raises(ApiError):
        await check_endpoint_url("https://hooks.example.com/x", (), Dns("192.168.1.10"))
    assert await check_endpoint_url("https://hooks.example.com/x", (), Dns("93.184.216.34"))


async def test_the_allowlist_admits_its_hosts_over_plain_http() -> None:
    url = "http://127.0.0.1:8080/hook"
    assert await check_endpoint_url(url, ("127.0.0.1",), Dns("127.0.0.1")) == url
    named = "http://localhost:8080/hook"
    assert await check_endpoint_url(named, ("localhost",), Dns("127.0.0.1")) == named


async def test_an_answer_rebound_to_loopback_after_creation_is_never_called() -> None:
    calls: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"https://hooks.example.com:{port}/hook"
    dns = Dns("93.184.216.34")
    try:
        assert await check_endpoint_url(url, (), dns) == url  # created while public
        dns.address = "127.0.0.1"  # then the name is rebound to us
        sender = HttpSender((), timeout_s=2, max_response_bytes=1024, resolve=dns)
        result = await sender.post(url, {}, b"{}")
        await sender.close()
        assert result.status_code is None and "private or reserved" in result.error
        assert calls == []
        # The receiver was there: allow-listed (development), the same address is reached.
        trusting = HttpSender(("127.0.0.1/32",), timeout_s=2, max_response_bytes=1024)
        result = await trusting.post(f"http://127.0.0.1:{port}/hook", {}, b"{}")
        await trusting.close()
        assert result.accepted and calls == ["/hook"]
    finally:
        await runner.cleanup()
