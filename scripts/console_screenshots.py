"""Write screenshots of the console's main pages into ``docs/console/`` (linked from the
README): a whole system on a throw-away database, an account with a few codes and scans, and
Debian's Chromium signed in to ``/console``. Run: ``make console-screenshots``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

import aiohttp
from playwright.async_api import Page, expect

from tests.support.browser import chromium, sign_in
from tests.support.polling import eventually
from tests.support.stack import ApiAccount, Stack, unlimited_account
from tests.support.system import whole_system

OUT: Final = Path(__file__).resolve().parent.parent / "docs" / "console"
VISITORS: Final = (
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "81.2.69.160"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36", "2.125.160.216"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "89.160.20.112"),
)  # fmt: skip
SCANS: Final = 24


async def _post(http: aiohttp.ClientSession, url: str, key: str, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    async with http.post(url, json=body, headers=headers) as resp:
        resp.raise_for_status()
        return (await resp.json())["data"]


async def seed(stack: Stack, account: ApiAccount) -> str:
    """A few codes, a saved design and scans of one code; returns that code's id."""
    base, key = stack.gateway_url, account.api_key
    async with aiohttp.ClientSession() as http:
        featured = await _post(
            http,
            f"{base}/v1/qrcodes/dynamic",
            key,
            {
                "name": "Spring flyer",
                "destination_url": "https://example.com/spring",
                "tags": ["spring", "print"],
                "design": {"frame": {"style": "banner-bottom", "text": "SCAN ME"}},
            },
        )
        for name, url, tags in (
            ("Shop window", "https://example.com/shop", ["print", "store"]),
            ("Menu table 4", "https://example.com/menu", ["store"]),
            ("Trade fair badge", "https://example.com/fair", ["events", "print"]),
        ):
            await _post(
                http,
                f"{base}/v1/qrcodes/dynamic",
                key,
                {"name": name, "destination_url": url, "tags": tags},
            )
        for text in ("Wi-Fi of the café", "Opening hours"):
            await _post(
                http, f"{base}/v1/qrcodes/generate", key,
                {"type": "text", "content": text, "name": text},
            )  # fmt: skip
        await _post(
            http, f"{base}/v1/designs", key,
            {"name": "Brand blue", "design": {"fg_color": "#1a237e", "dot_style": "round"}},
        )  # fmt: skip
        await _post(
            http, f"{base}/v1/api-keys", key, {"name": "print shop", "permissions": ["read"]}
        )
        for n in range(SCANS):
            agent, ip = VISITORS[n % len(VISITORS)]
            headers = {"User-Agent": agent, "X-Forwarded-For": ip}
            async with http.get(featured["short_url"], headers=headers, allow_redirects=False):
                pass

        async def counted() -> bool:
            async with http.get(
                f"{base}/v1/qrcodes/{featured['qr_id']}/stats", headers=account.headers
            ) as resp:
                return bool((await resp.json())["data"]["total_scans"] >= SCANS)

        await eventually(counted, 30.0, "the seeded scans in the statistics")
    return str(featured["qr_id"])


async def shoot(page: Page, name: str) -> None:
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)
    await page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"docs/console/{name}.png")


async def screenshots(stack: Stack, account: ApiAccount, qr_id: str) -> None:
    console = f"{stack.gateway_url}/console/"
    OUT.mkdir(parents=True, exist_ok=True)
    async with chromium(viewport=(1280, 860)) as browser:
        page = await browser.new_page()
        await page.goto(console)
        await shoot(page, "sign-in")
        await sign_in(page, console, account.api_key)
        await shoot(page, "codes")
        await page.goto(f"{console}#/codes/new")
        await page.get_by_label("Destination URL").fill("https://example.com/autumn")
        await page.get_by_label("Frame style").select_option("banner-bottom")
        await page.get_by_label("Gradient type").select_option("linear")
        await page.get_by_label("Dots").select_option("round")
        await expect(page.get_by_test_id("preview")).to_have_attribute("data-generation", "2")
        await shoot(page, "create")
        for route, heading, name in (
            (f"#/codes/{qr_id}", "Spring flyer", "detail"),
            (f"#/codes/{qr_id}/stats", "Statistics", "stats"),
            ("#/live", "Live scans", "live"),
            ("#/tags", "Tags", "tags"),
            ("#/designs", "Saved designs", "designs"),
            ("#/keys", "API keys", "keys"),
            ("#/usage", "Usage", "usage"),
        ):
            await page.goto(f"{console}{route}")
            await page.get_by_role("heading", name=heading, exact=True).wait_for()
            await shoot(page, name)
    async with chromium(viewport=(390, 844)) as phone:
        page = await phone.new_page()
        await sign_in(page, console, account.api_key)
        await shoot(page, "phone-codes")


def main() -> None:
    with whole_system("qrforge_screenshots") as stack:
        account = unlimited_account(stack, "screenshots")
        qr_id = asyncio.run(seed(stack, account))
        asyncio.run(screenshots(stack, account, qr_id))


if __name__ == "__main__":
    main()
