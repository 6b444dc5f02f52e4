"""``design.logo_url`` through the gateway: fetched over HTTPS from a local server that only a
gateway with the test allowlist may reach; a default gateway refuses it before connecting."""

from __future__ import annotations

import io
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from PIL import Image

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.processes import free_port
from tests.support.stack import ApiAccount, Stack


def _logo_png() -> bytes:
    image = Image.new("RGB", (120, 120), (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class LogoServer:
    url: str
    ca_file: Path
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def logo_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LogoServer]:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    port = free_port()
    server = LogoServer(f"https://127.0.0.1:{port}", ca_file)
    png = _logo_png()

    async def logo(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(body=png, content_type="image/png")

    async def text(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(text="not an image")

    app = web.Application()
    app.router.add_get("/logo.png", logo)
    app.router.add_get("/page.html", text)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    yield server
    await runner.cleanup()


def _with_logo(logo_url: str) -> dict[str, Any]:
    return {
        "type": "url",
        "content": "https://example.com/venue",
        "design": {"logo_url": logo_url, "logo_size": 0.2},
    }


async def test_allowlisted_logo_is_fetched_and_the_code_still_scans(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession, logo_server: LogoServer
) -> None:
    gateway, url = stack.start_gateway(
        "gateway-logo",
        {"LOGO_FETCH_ALLOWLIST": "127.0.0.1/32", "LOGO_FETCH_CA_FILE": str(logo_server.ca_file)},
    )
    gateway.wait_ready()
    api = ApiClient(http, url, account)
    data = (await api.generate(_with_logo(f"{logo_server.url}/logo.png"))).data()
    assert data["error_correction"] == "H"  # the default when a logo is set
    png = (await api.fetch(data["image_url"])).body
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.getpixel((256, 256)) == (200, 30, 30)  # the logo sits in the middle
    assert decode_single_qr(png) == "https://example.com/venue"

    resp = await api.generate(_with_logo(f"{logo_server.url}/page.html"))
    assert resp.status == 400 and resp.error_code == "LOGO_FETCH_FAILED"
    gateway.stop()


async def test_default_gateway_never_reaches_private_addresses(
    api: ApiClient, logo_server: LogoServer
) -> None:
    before = list(logo_server.hits)
    for target in (
        f"{logo_server.url}/logo.png",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/logo.png",
        "https://[::ffff:127.0.0.1]/logo.png",
        "https://10.0.0.1/logo.png",
        "http://example.com/logo.png",
    ):
        resp = await api.generate(_with_logo(target))
        assert resp.status == 400, (target, resp.text)
        assert resp.error_code == "LOGO_FETCH_FAILED"
    assert logo_server.hits == before  # refused before any connection
