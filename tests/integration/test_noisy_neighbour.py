"""One account's heavy work must not hold up another's, and public images cannot be used to make
the system draw without end: fair render turns, the public image cache, the per-address limit.

Fairness is asserted by order, never by time: the render service's count of finished renders
says how many of the heavy account's renders finished while the other account's call was in
flight (the session stack runs render with 2 workers, so one account may hold 1).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import aiohttp
import pypdfium2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.stack import Stack

# ~0.3 s of one core to draw and verify (version 24 at level H), against ~2 ms for a plain code.
HEAVY_TEXT = "the quick brown fox jumps over the lazy dog " * 11


def heavy_item(label: str) -> dict[str, Any]:
    return {
        "type": "text",
        "content": f"{label} {HEAVY_TEXT}",
        "format": "pdf",
        "size": 4096,
        "error_correction": "H",
    }


async def service_metric(
    http: aiohttp.ClientSession, stack: Stack, service: str, name: str, **labels: str
) -> float:
    process = next(p for p in stack.processes if p.name == service)
    async with http.get(f"http://127.0.0.1:{process.admin_port}/metrics") as resp:
        text = await resp.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def renders_finished(http: aiohttp.ClientSession, stack: Stack) -> float:
    return await service_metric(
        http, stack, "render", "qrforge_grpc_server_requests_total", method="RenderQR", code="OK"
    )


async def test_heavy_batches_of_one_account_do_not_hold_up_another_accounts_generates(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    heavy = api.as_account(stack.create_account("heavy batches", rate_limit=100_000))
    neighbour = api.as_account(stack.create_account("neighbour", rate_limit=100_000))
    (await neighbour.generate({"type": "text", "content": "warm-up"})).data()

    batches = [
        asyncio.create_task(heavy.batch([heavy_item(f"{b}.{i}") for i in range(5)]))
        for b in range(2)
    ]

    async def heavy_backlog() -> bool:
        waiting = await service_metric(http, stack, "render", "qrforge_render_jobs_waiting")
        return waiting >= 5

    try:
        await eventually(
            heavy_backlog, 60, "the heavy account's renders queued at the render service"
        )
        for i in range(3):
            before = await renders_finished(http, stack)
            data = (await neighbour.generate({"type": "text", "content": f"light {i}"})).data()
            # Its own render, plus at most the heavy render running beside it (and the next one
            # if this call was very slow). Queued behind the backlog, it would see the 5 or more
            # renders that were waiting before it finish first.
            assert await renders_finished(http, stack) - before <= 3
            image = await neighbour.fetch(data["image_url"])
            assert decode_single_qr(image.body) == f"light {i}"
    finally:
        results = await asyncio.gather(*batches, return_exceptions=True)
    for result in results:  # slowed, not starved
        assert not isinstance(result, BaseException), result
        assert result.data()["succeeded"] == 5


async def test_a_public_image_fetched_again_is_not_drawn_again(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    body = {"type": "url", "content": "https://example.com/cached", "format": "pdf"}
    image_url = (await api.generate(body)).data()["image_url"]
    async with http.get(image_url) as first:
        assert first.status == 200
        first_bytes = await first.read()
    renders = await renders_finished(http, stack)

    async with http.get(image_url) as again:
        assert again.status == 200
        assert await again.read() == first_bytes
        assert again.headers["ETag"] == first.headers["ETag"]
    assert await renders_finished(http, stack) == renders

    document = pypdfium2.PdfDocument(first_bytes)
    try:
        raster = document[0].render(scale=2).to_pil()
    finally:
        document.close()
    png = io.BytesIO()
    raster.save(png, format="PNG")
    assert decode_single_qr(png.getvalue()) == "https://example.com/cached"


async def test_concurrent_first_fetches_of_a_public_image_draw_it_once(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    body = {"type": "url", "content": "https://example.com/mailing", "size": 2048}
    image_url = (await api.generate(body)).data()["image_url"]
    renders = await renders_finished(http, stack)

    async def fetch() -> bytes:
        async with http.get(image_url) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/png"
            return await resp.read()

    images = await asyncio.gather(*(fetch() for _ in range(8)))
    assert len(set(images)) == 1
    assert decode_single_qr(images[0]) == "https://example.com/mailing"
    assert await renders_finished(http, stack) == renders + 1


IMAGES_PER_MIN = 5


@pytest.fixture(scope="module")
def limited_gateway(stack: Stack) -> Iterator[str]:
    """A second gateway with a small public image limit, trusting the local proxy's header."""
    process, url = stack.start_gateway(
        "gateway-image-limit",
        {"PUBLIC_IMAGE_REQUESTS_PER_MIN": str(IMAGES_PER_MIN), "TRUSTED_PROXIES": "127.0.0.1/32"},
    )
    process.wait_ready()
    yield url
    process.stop()


def from_client(address: str) -> dict[str, str]:
    """The header a trusted proxy in front of the gateway adds for a client."""
    return {"X-Forwarded-For": address}


async def test_public_images_are_limited_per_client_address(
    api: ApiClient, http: aiohttp.ClientSession, limited_gateway: str
) -> None:
    qr_id = (await api.generate({"type": "text", "content": "limited"})).data()["qr_id"]
    image_url = f"{limited_gateway}/i/{qr_id}.png"
    scraper = from_client("198.51.100.6")

    for _ in range(IMAGES_PER_MIN):
        async with http.get(image_url, headers=scraper) as resp:
            assert resp.status == 200
    async with http.get(image_url, headers=scraper) as resp:
        assert resp.status == 429
        body = await resp.json()
        assert body["success"] is False
        assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        assert int(resp.headers["Retry-After"]) >= 1
    # Counted before the lookup: guessing ids does not get around it.
    async with http.get(f"{limited_gateway}/i/qr_doesnotexist0000.png", headers=scraper) as resp:
        assert resp.status == 429

    async with http.get(image_url, headers=from_client("198.51.100.7")) as resp:
        assert resp.status == 200  # another client is not affected
        assert decode_single_qr(await resp.read()) == "limited"


async def test_a_batch_holds_no_quota_lock_while_its_items_render(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    """An account under a quota counts its codes on one locked row from a batch's first insert
    to its commit. If that lock were taken while later items still render, every other create
    of the account would wait out the whole batch, each holding a database connection that
    other tenants need. A create sent while the batch renders finishes before the batch."""
    owner = api.as_account(stack.create_account("quota batch", max_codes=1000, rate_limit=100_000))
    finished_before = await renders_finished(http, stack)
    items = [{"type": "text", "content": "light first"}]
    items += [heavy_item(f"batch {i}") for i in range(12)]
    batch = asyncio.create_task(owner.batch(items))

    async def first_items_rendered() -> bool:
        return await renders_finished(http, stack) >= finished_before + 2

    await eventually(first_items_rendered, 60, "the batch's first items rendered")
    assert not batch.done(), "the batch finished before the test could race it"
    single = (await owner.generate({"type": "text", "content": "meanwhile"})).data()
    assert not batch.done(), "the single create waited for the batch to commit"
    results = (await batch).data()["results"]
    assert all(result["success"] for result in results), results
    assert single["content"] == "meanwhile"
