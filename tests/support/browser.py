"""Debian's Chromium driven by Playwright (never a downloaded browser) for the console's tests,
benchmarks and screenshots, plus axe-core (npm, pinned in console/package-lock.json) to audit
pages for accessibility."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from playwright.async_api import BrowserContext, Page, async_playwright

from tests.support.processes import ROOT

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONSOLE_DIST: Final = ROOT / "console" / "dist"
AXE_SCRIPT: Final = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS: Final = frozenset({"serious", "critical"})


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


@asynccontextmanager
async def chromium(viewport: tuple[int, int] = (1280, 900)) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (its own --user-data-dir, removed after) in headless Chromium."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Debian's chromium is not installed (bash scripts/test-tools.sh)")
    with tempfile.TemporaryDirectory(prefix="qrforge-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(executable),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": viewport[0], "height": viewport[1]},
            )
            try:
                yield context
            finally:
                await context.close()


async def sign_in(page: Page, console_url: str, api_key: str) -> None:
    """Open the console and sign in with ``api_key``; returns once the codes page shows."""
    await page.goto(console_url)
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="QR codes").wait_for()


async def serious_accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the DevTools protocol, which the page's CSP does not govern (a <script>
    tag would be refused, as it should be)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    results: dict[str, Any] = await page.evaluate(
        "axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
