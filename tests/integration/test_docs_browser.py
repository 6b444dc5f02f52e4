"""``/docs`` in a real headless Chromium: Swagger UI renders the spec with every asset served
by the gateway itself (no CDN, so it works offline) and lists the endpoints."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright

from tests.support.stack import Stack

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)


async def test_docs_page_renders_the_endpoints_offline(stack: Stack) -> None:
    gateway = urlsplit(stack.gateway_url).netloc
    requested: list[str] = []
    failed: list[str] = []
    console_errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            page = await browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            response = await page.goto(f"{stack.gateway_url}/docs", wait_until="networkidle")
            assert response is not None and response.status == 200
            await page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            await page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            title = await page.inner_text(".swagger-ui .info .title")
            paths = await page.locator(".opblock-summary-path").all_inner_texts()
            methods = await page.locator(".opblock-summary-method").all_inner_texts()
        finally:
            await browser.close()

    assert "QRForge API" in title
    listed = {path.replace("\u200b", "").strip() for path in paths}
    for path in (
        "/v1/qrcodes/generate",
        "/v1/qrcodes/dynamic",
        "/v1/qrcodes/{qr_id}",
        "/v1/qrcodes/{qr_id}/stats/daily",
        "/v1/barcodes/generate",
        "/v1/api-keys",
        "/v1/account/usage",
        "/i/{qr_id}.{ext}",
    ):
        assert path in listed, sorted(listed)
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in methods}
    # Everything came from the gateway: nothing from a CDN, nothing failed.
    foreign = [
        url for url in requested if not url.startswith("data:") and urlsplit(url).netloc != gateway
    ]
    assert foreign == []
    assert failed == []
    assert console_errors == []
