"""The browser console in Debian's Chromium: how long each page takes to become interactive
(its heading shown, nothing loading) in an account with 10,000 codes, against the same pages
in an account with 10 codes measured in the same run (the ratio says what the large account
costs), plus the first load's compressed JS + CSS.

The 10,000 codes are copies of one code made through the API, written with one SQL statement
(rendering and verifying 10,000 images would measure the render service, not the console).
The whole system runs (analytics too: the statistics page is one of the pages). Each page is
opened ``RUNS`` times and the median kept; the API's name search (``?q=``, the console's
search box) is timed on its own, without the box's debounce. Budget (issue 21): every page within 1 s; first
load ≤ 300 KB compressed. Run from the repo root: ``python -m bench.console_bench``; prints
one JSON object.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import statistics
import time
from typing import Any, Final

import aiohttp
import asyncpg
from playwright.async_api import Page, expect

from tests.support.browser import CONSOLE_DIST, chromium, chromium_path, sign_in
from tests.support.stack import ApiAccount, Stack, unlimited_account
from tests.support.system import whole_system

LARGE: Final = 10_000
SMALL: Final = 10
RUNS: Final = 5
SEARCHES: Final = 21
BUDGET_MS: Final = 1000.0
FIRST_LOAD_BUDGET_KB: Final = 300.0

CLONE_SQL: Final = """
INSERT INTO qr_codes
SELECT (jsonb_populate_record(NULL::qr_codes, to_jsonb(q) || jsonb_build_object(
    'qr_id', 'qr_' || substr(md5(q.qr_id || g::text), 1, 20),
    'short_code', 'b' || substr(md5(q.qr_id || 'short' || g::text), 1, 12),
    'name', 'Bench code ' || g,
    'tags', jsonb_build_array('bench', 'group-' || (g % 100)),
    'created_at', q.created_at - g * interval '1 second'))).*
FROM qr_codes q, generate_series(1, $2::int) g
WHERE q.qr_id = $1
"""


async def seed(stack: Stack, account: ApiAccount, codes: int) -> str:
    """``codes`` dynamic codes in ``account``; returns the id of the one made through the API."""
    async with (
        aiohttp.ClientSession(headers=account.headers) as http,
        http.post(
            f"{stack.gateway_url}/v1/qrcodes/dynamic",
            json={"name": "Bench", "destination_url": "https://example.com/bench"},
        ) as resp,
    ):
        qr_id = str((await resp.json())["data"]["qr_id"])
    connection = await asyncpg.connect(stack.database_url)
    try:
        await connection.execute(CLONE_SQL, qr_id, codes - 1)
    finally:
        await connection.close()
    return qr_id


def first_load_kb() -> float:
    """The shell's JS and CSS as gzip at level 9 (what the gateway sends)."""
    html = (CONSOLE_DIST / "index.html").read_text(encoding="utf-8")
    names = re.findall(r'/console/assets/([^"]+\.(?:js|css))"', html)
    total = sum(len(gzip.compress((CONSOLE_DIST / "assets" / n).read_bytes(), 9)) for n in names)
    return round(total / 1024, 1)


async def time_page(page: Page, route: str, heading: str) -> float:
    await page.evaluate("() => { location.hash = '#/usage' }")
    await page.get_by_role("heading", name="Usage", exact=True).wait_for()
    await expect(page.locator("[aria-busy=true]")).to_have_count(0)
    start = time.perf_counter()
    await page.evaluate("route => { location.hash = route }", route)
    await page.get_by_role("heading", name=heading, exact=True).wait_for()
    try:
        await expect(page.locator("[aria-busy=true]")).to_have_count(0, timeout=10_000)
    except AssertionError:
        raise AssertionError(f"{route} still loading: {await page.inner_text('main')}") from None
    return (time.perf_counter() - start) * 1000


async def measure(console: str, account: ApiAccount, qr_id: str) -> dict[str, float]:
    pages = (
        ("#/codes", "QR codes"),
        ("#/codes/new", "New QR code"),
        (f"#/codes/{qr_id}", "Bench"),
        (f"#/codes/{qr_id}/stats", "Statistics"),
        ("#/live", "Live scans"),
        ("#/designs", "Saved designs"),
        ("#/webhooks", "Webhooks"),
        ("#/keys", "API keys"),
        ("#/tags", "Tags"),
    )
    timings: dict[str, list[float]] = {"sign_in": []}
    async with chromium() as browser:
        for _ in range(RUNS):
            page = await browser.new_page()
            start = time.perf_counter()
            await sign_in(page, console, account.api_key)
            await expect(page.locator("[aria-busy=true]")).to_have_count(0, timeout=10_000)
            timings["sign_in"].append((time.perf_counter() - start) * 1000)
            for route, heading in pages:
                timings.setdefault(route.replace(qr_id, "{qr_id}"), []).append(
                    await time_page(page, route, heading)
                )
            await page.close()
    return {name: round(statistics.median(values), 1) for name, values in timings.items()}


async def search_ms(stack: Stack, account: ApiAccount) -> float:
    """Median time of a name search (``?q=``) that matches about 1 % of the codes, a page of
    25 and its total: what the console's search box waits for after its debounce."""
    url = f"{stack.gateway_url}/v1/qrcodes"
    params = {"q": "CODE 99", "limit": "25"}
    timings: list[float] = []
    async with aiohttp.ClientSession(headers=account.headers) as http:
        for _ in range(SEARCHES):
            start = time.perf_counter()
            async with http.get(url, params=params) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
            timings.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(timings), 1)


async def run(stack: Stack) -> dict[str, Any]:
    console = f"{stack.gateway_url}/console/"
    large, small = unlimited_account(stack, "bench-large"), unlimited_account(stack, "bench-small")
    large_code = await seed(stack, large, LARGE)
    small_code = await seed(stack, small, SMALL)
    small_ms = await measure(console, small, small_code)
    large_ms = await measure(console, large, large_code)
    large_ms["api_search_q"] = await search_ms(stack, large)
    small_ms["api_search_q"] = await search_ms(stack, small)
    slowest = max(large_ms.values())
    return {
        "bench": "console",
        "codes": LARGE,
        "baseline_codes": SMALL,
        "page_ms_median": large_ms,
        "baseline_page_ms_median": small_ms,
        "ratio_to_baseline": {
            name: round(large_ms[name] / small_ms[name], 2) for name in large_ms if small_ms[name]
        },
        "slowest_page_ms": slowest,
        "budget_ms": BUDGET_MS,
        "within_budget": slowest <= BUDGET_MS,
        "first_load_kb_gzip": first_load_kb(),
        "first_load_budget_kb": FIRST_LOAD_BUDGET_KB,
    }


def main() -> None:
    if chromium_path() is None or not (CONSOLE_DIST / "index.html").is_file():
        print(json.dumps({"bench": "console", "skipped": "needs chromium and make console"}))
        return
    with whole_system("qrforge_console_bench") as stack:
        print(json.dumps(asyncio.run(run(stack))))


if __name__ == "__main__":
    main()
