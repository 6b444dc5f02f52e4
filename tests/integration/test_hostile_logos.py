"""Hostile logos from outside (issue 13, finding 2): each gets a clear 400, no render worker
dies (``qrforge_render_pool_restarts_total`` stays put), and another account's codes are drawn
as usual meanwhile. Before the fix, a 128-byte SVG killed two workers per request and the
other account's requests failed with 500."""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import trustme
from aiohttp import web
from PIL import Image

from qrforge.v1 import render_pb2, render_pb2_grpc
from services.runtime.grpc_errors import CODE_KEY
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.hostile_logos import (
    BILLION_LAUGHS_SVG,
    DEEPLY_NESTED_SVG,
    FILTER_STORM_SVG,
    MASK_CHAIN_SVG,
    SLIVER_SVG,
    TALL_SVG,
    animated_gif,
    blank_png,
    embedded_bomb_svg,
    jpeg_scan_bomb,
    svg_with_file_href,
)
from tests.support.processes import free_port
from tests.support.stack import ApiAccount, Stack

# What the attacking account sends at once: the finding's three payloads, plus an SVG that
# passes any per-element sanitiser and overflowed resvg's stack in the worker.
CONCURRENT_ATTACK = {
    "tall-svg": TALL_SVG,
    "sliver-svg": SLIVER_SVG,
    "embedded-20000px-png": embedded_bomb_svg(),
    "mask-chain-svg": MASK_CHAIN_SVG,
}


def render_pool_restarts(stack: Stack) -> float:
    render = next(process for process in stack.processes if process.name == "render")
    url = f"http://127.0.0.1:{render.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith("qrforge_render_pool_restarts_total "):
            return float(line.split()[1])
    raise AssertionError("render exposes no qrforge_render_pool_restarts_total")


@pytest.fixture(scope="module")
def attacker(stack: Stack) -> ApiAccount:
    return stack.create_account("hostile-logos-attacker")


@pytest.fixture(scope="module")
def bystander(stack: Stack) -> ApiAccount:
    return stack.create_account("hostile-logos-bystander")


async def generate_with_logo(
    http: aiohttp.ClientSession, url: str, account: ApiAccount, design: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    body = {"type": "url", "content": "https://example.com/brand", "design": design}
    resp = await ApiClient(http, url, account).generate(body)
    return resp.status, resp.envelope


def logo_data(logo: bytes) -> dict[str, Any]:
    return {"logo_data": base64.b64encode(logo).decode(), "logo_size": 0.2}


def assert_refused(status: int, body: dict[str, Any], code: str, field: str) -> None:
    assert status == 400, body
    assert body["success"] is False
    assert (body["error"]["code"], body["error"]["details"]["field"]) == (code, field), body


@pytest.mark.parametrize(
    "logo",
    [
        TALL_SVG,
        SLIVER_SVG,
        embedded_bomb_svg(),
        MASK_CHAIN_SVG,
        FILTER_STORM_SVG,
        BILLION_LAUGHS_SVG,
        DEEPLY_NESTED_SVG,
        blank_png(20_000, 20_000),
        blank_png(4000, 100),
        blank_png(100, 100)[:50],
        animated_gif(2000),
        jpeg_scan_bomb(),
    ],
    ids=[
        "tall-svg",
        "sliver-svg",
        "embedded-20000px-png",
        "mask-chain-svg",
        "filter-storm-svg",
        "billion-laughs-svg",
        "deeply-nested-svg",
        "20000px-png",
        "sliver-png",
        "truncated-png",
        "animated-gif",
        "jpeg-scan-bomb",
    ],
)
async def test_each_hostile_logo_gets_a_clear_400(
    stack: Stack, attacker: ApiAccount, http: aiohttp.ClientSession, logo: bytes
) -> None:
    restarts = render_pool_restarts(stack)
    status, body = await generate_with_logo(http, stack.gateway_url, attacker, logo_data(logo))
    assert_refused(status, body, "INVALID_PARAMETER", "design.logo_data")
    assert render_pool_restarts(stack) == restarts


async def test_hostile_logos_do_not_hurt_another_account(
    stack: Stack, attacker: ApiAccount, bystander: ApiAccount, http: aiohttp.ClientSession
) -> None:
    restarts = render_pool_restarts(stack)

    as_bystander = ApiClient(http, stack.gateway_url, bystander)

    async def plain_code(i: int) -> tuple[int, bytes]:
        body = {"type": "text", "content": f"bystander {i}", "size": 300}
        resp = await as_bystander.generate(body, accept="image/png")
        return resp.status, resp.body

    attacks = [
        generate_with_logo(http, stack.gateway_url, attacker, logo_data(logo))
        for logo in CONCURRENT_ATTACK.values()
    ]
    results = await asyncio.gather(*attacks, *(plain_code(i) for i in range(12)))

    for name, (status, body) in zip(CONCURRENT_ATTACK, results[: len(attacks)], strict=True):
        assert 400 <= status < 500, (name, status, body)
        assert body["error"]["code"] == "INVALID_PARAMETER", (name, body)
    for i, (status, png) in enumerate(results[len(attacks) :]):
        assert status == 200, (i, status, png[:300])
        assert decode_single_qr(png) == f"bystander {i}"
    assert render_pool_restarts(stack) == restarts


async def test_render_protects_itself_from_internal_callers(stack: Stack, tmp_path: Path) -> None:
    """The same payloads straight to render over gRPC, as a caller that skips the gateway's
    checks; and an SVG naming a file on render's disk, which resvg would have read."""
    Image.new("RGB", (64, 64), (255, 0, 0)).save(tmp_path / "on-render-disk.png")
    restarts = render_pool_restarts(stack)
    token = stack.base_env.get("GRPC_AUTH_TOKEN")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with grpc.aio.insecure_channel(stack.addresses["RENDER_ADDR"]) as channel:
        render = render_pb2_grpc.RenderServiceStub(channel)

        async def render_with(logo: bytes) -> render_pb2.RenderedImage:
            request = render_pb2.RenderQRRequest(
                payload="https://example.com/internal",
                format="png",
                size=400,
                error_correction="H",
                quiet_zone=4,
                design=render_pb2.QRDesign(logo=logo, logo_size=0.2),
            )
            return await render.RenderQR(request, metadata=metadata, timeout=30)

        for logo in (
            *CONCURRENT_ATTACK.values(),
            svg_with_file_href(str(tmp_path / "on-render-disk.png")),
            blank_png(20_000, 20_000),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await render_with(logo)
            assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert (CODE_KEY, "INVALID_PARAMETER") in tuple(failed.value.trailing_metadata())

        image = await render_with(blank_png(64, 64))
        assert decode_single_qr(image.data) == "https://example.com/internal"
    assert render_pool_restarts(stack) == restarts


@pytest.fixture(scope="module")
async def hostile_logo_host(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, Path]]:
    """An HTTPS server with the hostile logos as files: (base URL, CA file to trust)."""
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("hostile-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    files = {
        "/tall.svg": TALL_SVG,
        "/embedded.svg": embedded_bomb_svg(),
        "/mask-chain.svg": MASK_CHAIN_SVG,  # passes the gateway's checks; render refuses it
    }

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=files[request.path], content_type="image/svg+xml")

    app = web.Application()
    for path in files:
        app.router.add_get(path, serve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    yield f"https://127.0.0.1:{port}", ca_file
    await runner.cleanup()


async def test_hostile_logo_url_is_refused_by_the_gateway(
    stack: Stack,
    attacker: ApiAccount,
    http: aiohttp.ClientSession,
    hostile_logo_host: tuple[str, Path],
) -> None:
    base_url, ca_file = hostile_logo_host
    gateway, url = stack.start_gateway(
        "gateway-hostile-logos",
        {"LOGO_FETCH_ALLOWLIST": "127.0.0.1/32", "LOGO_FETCH_CA_FILE": str(ca_file)},
    )
    gateway.wait_ready()
    restarts = render_pool_restarts(stack)
    try:
        for path in ("/tall.svg", "/embedded.svg", "/mask-chain.svg"):
            design = {"logo_url": f"{base_url}{path}", "logo_size": 0.2}
            status, body = await generate_with_logo(http, url, attacker, design)
            assert_refused(status, body, "LOGO_FETCH_FAILED", "design.logo_url")
    finally:
        gateway.stop()
    assert render_pool_restarts(stack) == restarts
