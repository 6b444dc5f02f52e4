"""The browser console at ``/console`` in Debian's Chromium against the whole system: signing
in (and being refused with the API's own error), creating a dynamic code while the preview
follows the design, repointing it and following the short URL, live scans when the stream
exists, keys created and revoked, and axe-core on every page. One browser for the module."""

from __future__ import annotations

import base64
import gzip
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import BrowserContext, Page, Request, expect

from tests.support.api_client import ApiClient
from tests.support.browser import (
    AXE_SCRIPT,
    CONSOLE_DIST,
    chromium,
    chromium_path,
    serious_accessibility_violations,
    sign_in,
)
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.stack import ApiAccount, Stack
from tests.support.webhook_receiver import webhook_receiver

pytestmark = [
    pytest.mark.skipif(
        chromium_path() is None,
        reason="Debian's chromium is not installed (bash scripts/test-tools.sh)",
    ),
    pytest.mark.skipif(
        not (CONSOLE_DIST / "index.html").is_file() or not AXE_SCRIPT.is_file(),
        reason="the console is not built (make console)",
    ),
]

PHONE: Final = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DESKTOP: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
# Addresses the redirect's GeoIP database places (as tests/integration/test_dynamic_routing.py).
GB_IP, FR_IP = "81.2.69.160", "90.84.1.1"
# Every page of the console, as the hash route and the heading it shows.
PAGES: Final = (
    ("#/codes", "QR codes"),
    ("#/codes/new", "New QR code"),
    ("#/live", "Live scans"),
    ("#/tags", "Tags"),
    ("#/designs", "Saved designs"),
    ("#/webhooks", "Webhooks"),
    ("#/keys", "API keys"),
    ("#/usage", "Usage"),
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[BrowserContext]:
    async with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def owner(stack: Stack) -> ApiAccount:
    return stack.create_account("console", plan="pro")


@pytest.fixture
async def page(browser: BrowserContext) -> AsyncIterator[Page]:
    """A new tab: the key lives in the tab's memory, so every test signs in afresh."""
    tab = await browser.new_page()
    failed: list[str] = []
    tab.on("requestfailed", lambda request: failed.append(_failure(request)))
    foreign: list[str] = []
    tab.on("request", lambda request: foreign.extend(_foreign(request, tab)))
    yield tab
    await tab.close()
    assert foreign == [], "the console fetched something from another origin"


def _failure(request: Request) -> str:
    return f"{request.method} {request.url}: {request.failure}"


def _foreign(request: Request, tab: Page) -> list[str]:
    scheme, netloc = urlsplit(request.url)[:2]
    if scheme in ("blob", "data") or netloc == urlsplit(tab.url).netloc or not tab.url:
        return []
    # Following a short URL in the tab is the user's doing, not the console's.
    return [] if request.is_navigation_request() else [request.url]


def console_url(stack: Stack) -> str:
    return f"{stack.gateway_url}/console/"


async def test_the_shell_is_served_with_a_strict_csp_and_cache_headers(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(console_url(stack), headers={"Accept-Encoding": "gzip"}) as resp:
        html = await resp.text()
        assert resp.status == 200
        csp = resp.headers["Content-Security-Policy"]
        assert resp.headers["Cache-Control"] == "no-cache"
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "http" not in csp  # no external origin anywhere
    assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    assert "<script>" not in html  # no inline script: the one script is a file
    compressed = 0
    for asset in assets:
        async with http.get(
            f"{stack.gateway_url}{asset}",
            headers={"Accept-Encoding": "gzip"},
            auto_decompress=False,
        ) as resp:
            body = await resp.read()
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(body)
            compressed += len(body)
    assert compressed <= 300 * 1024, f"first load is {compressed} bytes compressed"
    async with http.get(f"{stack.gateway_url}/console/assets/..%2Fsettings.py") as resp:
        assert resp.status == 404


async def test_a_wrong_key_shows_the_apis_error(stack: Stack, api: ApiClient, page: Page) -> None:
    refused = await api.as_key("qrf_live_not-a-key-at-all").usage()
    assert refused.status == 401
    await page.goto(console_url(stack))
    await page.get_by_label("API key").fill("qrf_live_not-a-key-at-all")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("INVALID_API_KEY")
    await expect(alert).to_contain_text(refused.envelope["error"]["message"])
    await expect(page.get_by_role("heading", name="QR codes")).to_have_count(0)


async def shown_image(page: Page, test_id: str) -> bytes:
    """The pixels of an <img> as the page shows them (drawn on a canvas, read as PNG)."""
    data_url: str = await page.get_by_test_id(test_id).evaluate(
        """img => {
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            canvas.getContext("2d").drawImage(img, 0, 0);
            return canvas.toDataURL("image/png");
        }"""
    )
    return base64.b64decode(data_url.split(",", 1)[1])


async def _preview_after(page: Page, change: Callable[[], Awaitable[object]]) -> bytes:
    """The preview the page shows once it has redrawn after ``change()``."""
    preview = page.get_by_test_id("preview")
    before = await preview.get_attribute("data-generation") if await preview.count() else None
    await change()
    await expect(preview).to_be_visible()
    if before is not None:
        await expect(preview).not_to_have_attribute("data-generation", before)
    return await shown_image(page, "preview")


async def test_create_a_framed_dynamic_code_repoint_deactivate_and_follow_it(
    stack: Stack, owner: ApiAccount, api: ApiClient, http: aiohttp.ClientSession, page: Page
) -> None:
    await sign_in(page, console_url(stack), owner.api_key)
    # The key is kept in the tab's memory only: no URL, cookie or browser storage holds it.
    assert owner.api_key not in page.url
    kept = await page.evaluate(
        "() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert kept == ["", "{}", "{}"]
    first = await _preview_after(page, page.get_by_role("link", name="New code").first.click)
    assert decode_single_qr(first) == "https://example.com"
    destination = page.get_by_label("Destination URL")
    typed = await _preview_after(page, lambda: destination.fill("https://example.com/spring"))
    assert decode_single_qr(typed) == "https://example.com/spring"
    framed = await _preview_after(
        page, lambda: page.get_by_label("Frame style").select_option("banner-bottom")
    )
    # The user sees the new drawing: taller than wide (the banner), still the same payload.
    assert decode_single_qr(framed) == "https://example.com/spring"
    width, height = Image.open(io.BytesIO(framed)).size
    assert height > width
    preview = page.get_by_test_id("preview")
    await expect(preview).to_have_js_property("naturalHeight", height)

    await page.get_by_label("Name").fill("Spring flyer")
    await page.get_by_role("button", name="Create dynamic code").click()
    await page.get_by_role("heading", name="Spring flyer").wait_for()
    short_url = await page.get_by_test_id("short-url").inner_text()
    qr_id = page.url.rsplit("/", 1)[-1]
    record = (await api.as_account(owner).get_code(qr_id)).data()
    assert record["short_url"] == short_url
    assert record["design"]["frame"]["style"] == "banner-bottom"
    # What the console shows is the code itself: it reads as the short URL.
    await expect(page.get_by_test_id("code-image")).to_be_visible()
    assert decode_single_qr(await shown_image(page, "code-image")) == short_url

    async with http.get(short_url, headers={"User-Agent": PHONE}, allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "https://example.com/spring"

    await page.get_by_label("Destination URL").fill("https://example.com/summer")
    await page.get_by_role("button", name="Change destination").click()
    await expect(page.get_by_role("status").filter(has_text="Destination changed")).to_be_visible()

    async def repointed() -> bool:
        async with http.get(short_url, headers={"User-Agent": PHONE}, allow_redirects=False) as r:
            return r.headers.get("Location") == "https://example.com/summer"

    await eventually(repointed, 2.0, "the new destination live at the short URL")

    await page.get_by_label("active").uncheck()
    await page.get_by_role("button", name="Save protection").click()
    await expect(page.get_by_role("status").filter(has_text="Protection saved")).to_be_visible()

    async def gone() -> bool:
        async with http.get(short_url, headers={"User-Agent": PHONE}, allow_redirects=False) as r:
            return r.status == 410

    await eventually(gone, 2.0, "the deactivated code answering 410")


async def test_an_uploaded_logo_is_in_the_preview_and_nothing_is_stored(
    stack: Stack, api: ApiClient, page: Page, tmp_path: Path
) -> None:
    # An account of its own: "nothing stored" is counted on it alone.
    owner = stack.create_account("console-logo", plan="pro")
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 120), (220, 20, 20)).save(logo)
    writes: list[str] = []
    page.on(
        "request",
        lambda request: (
            writes.append(f"{request.method} {urlsplit(request.url).path}")
            if request.method != "GET"
            else None
        ),
    )
    await sign_in(page, console_url(stack), owner.api_key)
    plain = await _preview_after(page, page.get_by_role("link", name="New code").first.click)
    with_logo = await _preview_after(
        page, lambda: page.get_by_label("Logo").set_input_files(str(logo))
    )
    # Still the same payload, and now red in the middle where the logo sits.
    assert decode_single_qr(with_logo) == decode_single_qr(plain) == "https://example.com"
    image = Image.open(io.BytesIO(with_logo)).convert("RGB")
    assert image.getpixel((image.width // 2, image.height // 2)) == (220, 20, 20)
    # A design change with the logo still set redraws through the same stateless route.
    framed = await _preview_after(
        page, lambda: page.get_by_label("Frame style").select_option("box")
    )
    assert decode_single_qr(framed) == "https://example.com"
    assert set(writes) == {"POST /v1/qrcodes/preview"}
    client = api.as_account(owner)
    assert (await client.list_designs()).data() == []
    assert (await client.list_codes()).envelope["pagination"]["total"] == 0
    assert (await client.usage()).data()["qr_codes"]["used"] == 0


async def test_a_scan_shows_live_on_the_stats_page(
    stack: Stack, owner: ApiAccount, api: ApiClient, http: aiohttp.ClientSession, page: Page
) -> None:
    client = api.as_account(owner)
    code = (
        await client.create_dynamic({"name": "Live", "destination_url": "https://example.com/l"})
    ).data(201)
    await sign_in(page, console_url(stack), owner.api_key)
    await page.goto(f"{console_url(stack)}#/codes/{code['qr_id']}/stats")
    total = page.get_by_test_id("stats-total")
    await expect(total).to_have_text("0")
    await expect(page.get_by_text("Live: new scans appear")).to_be_visible()
    async with http.get(
        code["short_url"], headers={"User-Agent": PHONE}, allow_redirects=False
    ) as resp:
        assert resp.status == 302
    await expect(total).to_have_text("1", timeout=2_000)


async def test_a_key_created_then_revoked_in_the_console_is_refused_by_it(
    stack: Stack, owner: ApiAccount, page: Page
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, console_url(stack), owner.api_key)
    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("flyer printer")
    await page.get_by_role("button", name="Create key").click()
    secret = await page.get_by_test_id("new-secret").input_value()
    assert secret
    await page.get_by_role("button", name="Revoke flyer printer").click()
    await expect(page.get_by_role("button", name="Revoke flyer printer")).to_have_count(0)
    await page.get_by_role("button", name="Sign out").click()

    await page.get_by_label("API key").fill(secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("INVALID_API_KEY")
    await expect(page.get_by_role("heading", name="QR codes")).to_have_count(0)


async def test_no_page_has_a_serious_accessibility_violation(
    stack: Stack, owner: ApiAccount, api: ApiClient, page: Page
) -> None:
    code = (
        await api.as_account(owner).create_dynamic(
            {"name": "Audited", "destination_url": "https://example.com/a", "tags": ["audit"]}
        )
    ).data(201)
    await page.goto(console_url(stack))
    found: dict[str, list[dict[str, Any]]] = {
        "sign-in": await serious_accessibility_violations(page)
    }
    await sign_in(page, console_url(stack), owner.api_key)
    pages = (
        *PAGES,
        (f"#/codes/{code['qr_id']}", "Audited"),
        (f"#/codes/{code['qr_id']}/stats", "Statistics"),
    )
    for route, heading in pages:
        await page.evaluate("route => { location.hash = route }", route)
        await page.get_by_role("heading", name=heading, exact=True).wait_for()
        await expect(page.locator("[aria-busy=true]")).to_have_count(0)
        found[route] = await serious_accessibility_violations(page)
    assert {route: v for route, v in found.items() if v} == {}


async def _routed_to(
    http: aiohttp.ClientSession, short_url: str, user_agent: str, ip: str
) -> str | None:
    headers = {"User-Agent": user_agent, "X-Forwarded-For": ip}
    async with http.get(short_url, headers=headers, allow_redirects=False) as resp:
        return resp.headers.get("Location") if resp.status == 302 else None


async def test_rules_and_variants_edited_in_the_console_route_the_short_url(
    stack: Stack, owner: ApiAccount, api: ApiClient, http: aiohttp.ClientSession, page: Page
) -> None:
    client = api.as_account(owner)
    code = (
        await client.create_dynamic(
            {"name": "Routed flyer", "destination_url": "https://example.com/default"}
        )
    ).data(201)
    await sign_in(page, console_url(stack), owner.api_key)
    await page.goto(f"{console_url(stack)}#/codes/{code['qr_id']}")
    await page.get_by_role("heading", name="Routed flyer").wait_for()

    await page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_role("group", name="Rule 1", exact=True)
    await rule.get_by_label("mobile").check()
    countries = rule.get_by_label("Countries (ISO codes, comma-separated)")
    await countries.fill("GB, FRA")
    await rule.get_by_label("Destination URL").fill("https://example.com/uk-phones")
    await page.get_by_role("button", name="Add variant").click()
    variant = page.get_by_role("group", name="Variant 1", exact=True)
    await variant.get_by_label("Destination URL").fill("https://example.com/campaign-b")
    await page.get_by_role("button", name="Save rules and variants").click()

    # The API's own message, under the input holding the bad country (rules[0].if.country[1]).
    refused = await client.patch_code(
        code["qr_id"],
        {"rules": [{"if": {"device": ["mobile"], "country": ["GB", "FRA"]},
                    "destination_url": "https://example.com/uk-phones"}]},
    )  # fmt: skip
    assert refused.status == 400
    assert refused.envelope["error"]["details"]["field"] == "rules[0].if.country[1]"
    shown = rule.get_by_role("alert")
    await expect(shown).to_have_text(refused.envelope["error"]["message"])
    await expect(countries).to_have_attribute("aria-invalid", "true")
    assert (await client.get_code(code["qr_id"])).data()["rules"] == []

    await countries.fill("GB")
    await page.get_by_role("button", name="Save rules and variants").click()
    await expect(
        page.get_by_role("status").filter(has_text="Rules and variants saved")
    ).to_be_visible()
    await expect(rule.get_by_role("alert")).to_have_count(0)
    record = (await client.get_code(code["qr_id"])).data()
    assert record["rules"] == [
        {"if": {"device": ["mobile"], "country": ["GB"]},
         "destination_url": "https://example.com/uk-phones"}
    ]  # fmt: skip
    assert record["variants"] == [
        {"destination_url": "https://example.com/campaign-b", "weight": 1}
    ]

    async def routed() -> bool:
        return await _routed_to(http, code["short_url"], PHONE, GB_IP) == (
            "https://example.com/uk-phones"
        )

    await eventually(routed, 2.0, "a phone in GB sent to the rule's destination")
    # Outside the rule (a desktop in GB, a phone in France): the one variant replaces the default.
    assert await _routed_to(http, code["short_url"], DESKTOP, GB_IP) == (
        "https://example.com/campaign-b"
    )
    assert await _routed_to(http, code["short_url"], PHONE, FR_IP) == (
        "https://example.com/campaign-b"
    )


async def test_a_webhook_added_in_the_console_logs_a_scan_and_retries_it(
    stack: Stack, owner: ApiAccount, api: ApiClient, http: aiohttp.ClientSession, page: Page
) -> None:
    code = (
        await api.as_account(owner).create_dynamic(
            {"name": "Hooked", "destination_url": "https://example.com/h"}
        )
    ).data(201)
    async with webhook_receiver() as receiver:
        await sign_in(page, console_url(stack), owner.api_key)
        await page.get_by_role("link", name="Webhooks").click()
        await page.get_by_label("Endpoint URL (https)").fill(receiver.url)
        await expect(page.get_by_label("scan.created")).to_be_checked()
        await page.get_by_role("button", name="Add webhook").click()
        # The signing secret, shown once: the receiver checks every delivery with it.
        receiver.secret = await page.get_by_test_id("new-secret").input_value()
        assert receiver.secret.startswith("whsec_")
        card = page.get_by_role("article").filter(
            has=page.get_by_role("heading", name=receiver.url)
        )
        await expect(card).to_contain_text("scan.created")

        async with http.get(
            code["short_url"], headers={"User-Agent": PHONE}, allow_redirects=False
        ) as resp:
            assert resp.status == 302
        scans = await eventually(
            lambda: _nonempty(receiver.events("scan.created")), 30, "the scan delivered"
        )
        assert scans[0]["data"]["qr_id"] == code["qr_id"]
        assert receiver.bad_signatures == 0

        await card.get_by_role("button", name="Delivery log").click()
        row = card.get_by_role("row").filter(has_text="scan.created")
        await expect(row).to_have_count(1, timeout=10_000)
        await expect(row).to_contain_text("delivered")
        await expect(row.get_by_role("cell").nth(3)).to_have_text("200")
        await expect(row.get_by_role("cell").nth(2)).to_have_text("1")

        await row.get_by_role("button", name=re.compile(r"^Retry scan\.created")).click()
        await expect(card.get_by_role("status")).to_contain_text("queued to be sent again")
        # The same event again, with the same webhook-id; the log shows the second attempt.
        first = next(iter(receiver.accepted))
        await eventually(
            lambda: _nonempty([True] if receiver.accepted_twice == [first] else []),
            10,
            "the retried delivery received again",
        )
        await expect(row.get_by_role("cell").nth(2)).to_have_text("2", timeout=10_000)
        await expect(row).to_contain_text("delivered")


async def _nonempty(items: list[Any]) -> list[Any] | None:
    return items or None


async def test_search_by_name_finds_codes_beyond_the_page_shown(
    stack: Stack, owner: ApiAccount, api: ApiClient, page: Page
) -> None:
    client = api.as_account(owner)
    needle = (
        await client.create_dynamic(
            {"name": "Needle in the haystack", "destination_url": "https://example.com/n"}
        )
    ).data(201)
    # A full page of newer codes: the needle is not among the codes the list first shows.
    hay = [{"type": "text", "content": f"hay {i}", "name": f"Hay bale {i}"} for i in range(26)]
    assert (await client.batch(hay)).data()["succeeded"] == 26
    await sign_in(page, console_url(stack), owner.api_key)
    codes = page.get_by_role("table")
    await expect(codes.get_by_role("link", name="Hay bale 25")).to_be_visible()
    await expect(codes.get_by_role("link", name="Needle in the haystack")).to_have_count(0)

    await page.get_by_label("Search by name").fill("NEEDLE")
    await expect(codes.get_by_role("row")).to_have_count(2)  # the header and the one match
    await codes.get_by_role("link", name="Needle in the haystack").click()
    await expect(page).to_have_url(re.compile(f"#/codes/{needle['qr_id']}$"))


async def test_the_tags_page_counts_codes_and_opens_a_tags_list(
    stack: Stack, owner: ApiAccount, api: ApiClient, page: Page
) -> None:
    client = api.as_account(owner)
    for name, tags in (("Tagged one", ["shelf-talker"]), ("Tagged two", ["shelf-talker", "b"])):
        body = {"name": name, "destination_url": "https://example.com/t", "tags": tags}
        assert (await client.create_dynamic(body)).status == 201
    listed = {t["tag"]: t for t in (await client.request("GET", "/v1/tags")).data()}
    await sign_in(page, console_url(stack), owner.api_key)
    await page.get_by_role("link", name="Tags", exact=True).click()
    await page.get_by_role("heading", name="Tags", exact=True).wait_for()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="shelf-talker"))
    await expect(row.get_by_role("cell")).to_have_text(["shelf-talker", "2", "0"])
    assert listed["shelf-talker"]["qr_codes"] == 2

    await row.get_by_role("link", name="shelf-talker").click()
    await page.get_by_role("heading", name="QR codes").wait_for()
    await expect(page.get_by_label("Tag", exact=True)).to_have_value("shelf-talker")
    codes = page.get_by_role("table")
    await expect(codes.get_by_role("link")).to_have_text(["Tagged two", "Tagged one"])
    await expect(page.get_by_test_id("codes-total")).to_contain_text("2 codes")
