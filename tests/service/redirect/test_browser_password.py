"""The password flow in a real headless Chromium (Debian ``chromium`` driven by Playwright):
open the short URL, type the password, submit, land on the destination."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from tests.service.redirect.conftest import Broker, Codes, Redirect
from tests.support.processes import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.async_api")
if shutil.which("chromium") is None:
    pytest.skip("Debian chromium is not installed", allow_module_level=True)


@pytest_asyncio.fixture
async def landing() -> AsyncIterator[str]:
    """A tiny destination site on loopback."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><title>Landed</title><h1>Welcome to the launch</h1>",
            content_type="text/html",
        )

    app = web.Application()
    app.router.add_get("/launch", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/launch"
    finally:
        await runner.cleanup()


async def test_password_flow_in_headless_chromium(
    redirect: Redirect, codes: Codes, broker: Broker, landing: str
) -> None:
    tap = await broker.tap()
    code = await codes.insert(f"{landing}?utm_source=qr", password="let me in")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            page = await context.new_page()
            response = await page.goto(f"{redirect.base_url}/{code.short_code}")
            assert response is not None and response.status == 200
            assert await page.title() == "Password required"

            await page.fill("input[name=password]", "a wrong one")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert await page.locator(".error").inner_text() == "Wrong password, try again."

            await page.fill("input[name=password]", "let me in")
            async with page.expect_navigation(url=f"{landing}?utm_source=qr"):
                await page.click("button[type=submit]")
            assert await page.locator("h1").inner_text() == "Welcome to the launch"
        finally:
            await browser.close()
    events = await tap.wait_for(code.qr_id, 1)
    assert len(events) == 1
    assert "Mobile" in events[0]["user_agent"] or "Chrome" in events[0]["user_agent"]
