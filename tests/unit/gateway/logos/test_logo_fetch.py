"""SSRF-safe logo fetching against a local HTTPS server on 127.0.0.1.

The server's certificate comes from a throwaway CA (trustme) that only the test policy trusts.
Blocked addresses must be refused before any connection: for 127.0.0.1 the server's request
log proves it, for every other address ``no_connect`` makes opening a connection fail the
test, so no packet leaves for anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme
from aiohttp import web
from aiohttp.abc import ResolveResult
from PIL import Image

from services.gateway.logos import fetch as logo_fetch
from services.gateway.logos.fetch import LogoFetchPolicy, fetch_logo
from services.runtime.errors import ApiError
from services.runtime.public_addresses import PinnedResolver, is_public_address

MIB = 1024 * 1024


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()
SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(2)</script><rect width='4' height='4'/></svg>"
)


@dataclass
class LogoServer:
    port: int
    client_ssl: ssl.SSLContext
    requests: list[str] = field(default_factory=list)
    big_written: int = 0
    big_done: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def policy(self, *allow: str, **overrides: float) -> LogoFetchPolicy:
        return LogoFetchPolicy(
            allow_private=allow or ("127.0.0.1/32",),
            ssl_context=self.client_ssl,
            timeout=overrides.get("timeout", 5.0),
        )


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", "logo.test").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


@pytest.fixture
async def server(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> AsyncIterator[LogoServer]:
    server_ctx, client_ctx = tls
    state = LogoServer(port=0, client_ssl=client_ctx)

    @web.middleware
    async def log_requests(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.requests.append(request.path)
        return await handler(request)

    async def logo_png(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def logo_svg(_: web.Request) -> web.Response:
        return web.Response(body=SVG_WITH_SCRIPT, content_type="image/svg+xml")

    async def mislabelled(_: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="text/plain")

    async def text(_: web.Request) -> web.Response:
        return web.Response(text="<html>not a logo</html>", content_type="image/png")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        chunk = PNG[:8] + b"\0" * (64 * 1024 - 8)
        try:
            for _ in range(5 * MIB // len(chunk)):
                await response.write(chunk)
                state.big_written += len(chunk)
                await asyncio.sleep(0.002)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        finally:
            state.big_done.set()
        return response

    async def declared_big(_: web.Request) -> web.Response:
        return web.Response(body=PNG[:8] + b"\0" * (2 * MIB), content_type="image/png")

    async def slow(_: web.Request) -> web.Response:
        await state.release.wait()
        return web.Response(body=PNG, content_type="image/png")

    async def gzip(_: web.Request) -> web.Response:
        return web.Response(body=PNG, headers={"Content-Encoding": "gzip"})

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404)

    def redirect(location: Callable[[], str]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_: web.Request) -> web.Response:
            return web.Response(status=302, headers={"Location": location()})

        return handler

    app = web.Application(middlewares=[log_requests])
    app.router.add_get("/logo.png", logo_png)
    app.router.add_get("/logo.svg", logo_svg)
    app.router.add_get("/mislabelled", mislabelled)
    app.router.add_get("/text", text)
    app.router.add_get("/big", big)
    app.router.add_get("/declared-big", declared_big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/gzip", gzip)
    app.router.add_get("/missing", missing)
    app.router.add_get("/to-logo", redirect(lambda: "/logo.png"))
    app.router.add_get("/loop", redirect(lambda: "/loop"))
    app.router.add_get("/to-ip", redirect(lambda: state.url("/logo.png")))
    app.router.add_get("/to-http", redirect(lambda: f"http://localhost:{state.port}/logo.png"))
    app.router.add_get("/to-metadata", redirect(lambda: "https://169.254.169.254/latest/"))

    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if fetch_logo gets as far as opening a connection."""

    async def refuse(*_: object) -> tuple[int, str | None, bytes]:
        raise AssertionError("a connection was attempted to a blocked address")

    monkeypatch.setattr(logo_fetch, "_get_once", refuse)


async def fetch_error(url: str, policy: LogoFetchPolicy) -> ApiError:
    with pytest.raises(ApiError) as info:
        await fetch_logo(url, policy)
    assert (info.value.code, info.value.field) == ("LOGO_FETCH_FAILED", "design.logo_url")
    assert info.value.status == 400
    return info.value


# --- what is allowed -----------------------------------------------------------------------


async def test_allowlisted_server_serves_a_png(server: LogoServer) -> None:
    assert await fetch_logo(server.url("/logo.png"), server.policy()) == PNG
    assert server.requests == ["/logo.png"]


async def test_type_comes_from_the_bytes_not_the_header(server: LogoServer) -> None:
    assert await fetch_logo(server.url("/mislabelled"), server.policy()) == PNG


async def test_host_name_allowlist(server: LogoServer) -> None:
    data = await fetch_logo(server.url("/logo.png", host="localhost"), server.policy("localhost"))
    assert data == PNG


async def test_relative_redirect_is_followed(server: LogoServer) -> None:
    assert await fetch_logo(server.url("/to-logo"), server.policy()) == PNG
    assert server.requests == ["/to-logo", "/logo.png"]


async def test_svg_comes_back_sanitised(server: LogoServer) -> None:
    data = await fetch_logo(server.url("/logo.svg"), server.policy())
    assert b"<rect" in data
    assert b"script" not in data
    assert b"onload" not in data


async def test_connection_is_pinned_to_the_vetted_address(
    server: LogoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first answer passes the check, any later one would point elsewhere.
    # The fetch must connect to the first answer without asking DNS again.
    answers: list[str] = []
    loop = asyncio.get_running_loop()

    async def rebinding_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        assert host == "logo.test"
        address = "127.0.0.1" if not answers else "10.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding_getaddrinfo)
    assert await fetch_logo(server.url("/logo.png", host="logo.test"), server.policy()) == PNG
    assert answers == ["127.0.0.1"]
    assert server.requests == ["/logo.png"]


async def test_a_name_with_any_private_answer_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_connect: None
) -> None:
    async def mixed_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", mixed_getaddrinfo)
    await fetch_error("https://mixed.test/logo.png", LogoFetchPolicy())


async def test_pinned_resolver_answers_only_for_its_host() -> None:
    vetted = ResolveResult(
        hostname="logo.test",
        host="127.0.0.1",
        port=443,
        family=socket.AF_INET,
        proto=socket.IPPROTO_TCP,
        flags=socket.AI_NUMERICHOST,
    )
    resolver = PinnedResolver("logo.test", [vetted])
    assert await resolver.resolve("logo.test", 8443, socket.AF_UNSPEC) == [{**vetted, "port": 8443}]
    with pytest.raises(OSError):
        await resolver.resolve("other.test", 443)
    with pytest.raises(OSError):
        await resolver.resolve("logo.test", 443, socket.AF_INET6)


# --- refused before connecting -----------------------------------------------------------


async def test_loopback_without_allowlist_never_reaches_the_server(server: LogoServer) -> None:
    policy = LogoFetchPolicy(ssl_context=server.client_ssl)
    err = await fetch_error(server.url("/logo.png"), policy)
    assert "private" in err.message
    assert server.requests == []


async def test_localhost_name_is_refused(server: LogoServer) -> None:
    policy = LogoFetchPolicy(ssl_context=server.client_ssl)
    await fetch_error(server.url("/logo.png", host="localhost"), policy)
    assert server.requests == []


@pytest.mark.usefixtures("no_connect")
@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/logo.png",
        "https://172.16.5.4/logo.png",
        "https://192.168.1.1/logo.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/logo.png",
        "https://0.0.0.0/logo.png",
        "https://224.0.0.1/logo.png",
        "https://255.255.255.255/logo.png",
        "https://[::1]/logo.png",
        "https://[::]/logo.png",
        "https://[::ffff:127.0.0.1]/logo.png",
        "https://[::ffff:10.0.0.1]/logo.png",
        "https://[64:ff9b::7f00:1]/logo.png",
        "https://[64:ff9b::a9fe:a9fe]/logo.png",
        "https://[2002:7f00:1::]/logo.png",
        "https://[2002:a00:1::]/logo.png",
        "https://[fe80::1]/logo.png",
        "https://[fd00::1]/logo.png",
        "https://[ff02::1]/logo.png",
        "https://0x7f000001/logo.png",
        "https://2130706433/logo.png",
        "https://127.1/logo.png",
        "https://localhost/logo.png",
    ],
)
async def test_blocked_addresses(url: str) -> None:
    await fetch_error(url, LogoFetchPolicy())


@pytest.mark.usefixtures("no_connect")
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/logo.png", "https"),
        ("ftp://example.com/logo.png", "https"),
        ("https:///logo.png", "host"),
        ("https://user:pw@example.com/logo.png", "credentials"),
        ("not a url", "https"),
        ("https://example.com/" + "a" * 3000, "long"),
    ],
)
async def test_malformed_urls(url: str, reason: str) -> None:
    err = await fetch_error(url, LogoFetchPolicy(allow_private=("127.0.0.1/32",)))
    assert reason in err.message


async def test_http_url_is_refused_even_when_allowlisted(server: LogoServer) -> None:
    await fetch_error(f"http://127.0.0.1:{server.port}/logo.png", server.policy())
    assert server.requests == []


# --- redirects ---------------------------------------------------------------------------


async def test_redirect_to_a_non_allowlisted_address_is_refused(server: LogoServer) -> None:
    # localhost is allowlisted by name; the redirect names 127.0.0.1, which is not.
    err = await fetch_error(server.url("/to-ip", host="localhost"), server.policy("localhost"))
    assert "private" in err.message
    assert server.requests == ["/to-ip"]


async def test_redirect_to_metadata_service_is_refused(server: LogoServer) -> None:
    await fetch_error(server.url("/to-metadata"), server.policy())
    assert server.requests == ["/to-metadata"]


async def test_redirect_to_http_is_refused(server: LogoServer) -> None:
    err = await fetch_error(server.url("/to-http"), server.policy("127.0.0.1/32", "localhost"))
    assert "https" in err.message
    assert server.requests == ["/to-http"]


async def test_at_most_three_redirects(server: LogoServer) -> None:
    err = await fetch_error(server.url("/loop"), server.policy())
    assert "redirected more than 3 times" in err.message
    assert server.requests == ["/loop"] * 4


# --- bad answers ---------------------------------------------------------------------------


async def test_non_image_is_refused(server: LogoServer) -> None:
    err = await fetch_error(server.url("/text"), server.policy())
    assert "not a PNG, JPEG or SVG" in err.message


async def test_http_error_status(server: LogoServer) -> None:
    err = await fetch_error(server.url("/missing"), server.policy())
    assert "404" in err.message


async def test_compressed_body_is_refused(server: LogoServer) -> None:
    await fetch_error(server.url("/gzip"), server.policy())


async def test_declared_oversize_body_is_refused(server: LogoServer) -> None:
    err = await fetch_error(server.url("/declared-big"), server.policy())
    assert "1 MiB" in err.message


async def test_streamed_oversize_body_is_abandoned(server: LogoServer) -> None:
    err = await fetch_error(server.url("/big"), server.policy())
    assert "1 MiB" in err.message
    await asyncio.wait_for(server.big_done.wait(), timeout=5)
    # The client hung up after about 1 MiB: the server never got to write all 5.
    assert server.big_written < 5 * MIB


async def test_slow_server_hits_the_deadline(server: LogoServer) -> None:
    started = time.monotonic()
    err = await fetch_error(server.url("/slow"), server.policy(timeout=0.3))
    assert "did not answer within 0.3 s" in err.message
    assert time.monotonic() - started < 2


async def test_untrusted_certificate_is_refused(server: LogoServer) -> None:
    # The default policy trusts only the system store, not the test CA.
    policy = LogoFetchPolicy(allow_private=("127.0.0.1/32",))
    err = await fetch_error(server.url("/logo.png"), policy)
    assert "TLS" in err.message


async def test_nothing_listening(server: LogoServer) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    err = await fetch_error("https://127.0.0.1:1/logo.png", server.policy())
    assert err.message == "logo_url could not be fetched"


# --- address classification ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:808:808::1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("100.127.255.255", False),
        ("169.254.169.254", False),
        ("192.0.0.8", False),
        ("198.18.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b:1::1", False),
        ("2001::1", False),
        ("2001:db8::1", False),
        ("fec0::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LogoFetchPolicy(timeout=0)
