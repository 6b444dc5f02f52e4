"""``POST /v1/decode`` through the real system: codes the API drew (PNG, a phone photo as
JPEG, WebP, several on a page) decode to what was encoded, with corners inside the image;
anything that is not a readable image is refused with the documented code, a decompression
bomb at once and without killing a render worker."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.integration.test_hostile_logos import render_pool_restarts
from tests.support.api_client import ApiClient
from tests.support.decode_inputs import claimed_size_png, page_of, phone_photo, reencoded
from tests.support.stack import ApiAccount, Stack

WIFI = {"ssid": "Cafe", "password": "s3cretpass", "encryption": "WPA"}
WIFI_PAYLOAD = "WIFI:T:WPA;S:Cafe;P:s3cretpass;;"


@pytest.fixture(scope="module")
def decoder(stack: Stack) -> ApiAccount:
    # Its own account, with room: these tests must meet the decoder, not another test's limit.
    return stack.create_account("decode", rate_limit=100_000)


@pytest.fixture
def client(http: aiohttp.ClientSession, stack: Stack, decoder: ApiAccount) -> ApiClient:
    return ApiClient(http, stack.gateway_url, decoder)


async def qr_png(client: ApiClient, body: dict[str, Any]) -> bytes:
    response = await client.generate(body, accept="image/png")
    assert response.status == 200, response.body[:500]
    return response.body


def assert_inside(results: list[dict[str, Any]], image: bytes) -> None:
    width, height = Image.open(io.BytesIO(image)).size
    for result in results:
        assert len(result["position"]) == 4, result
        for x, y in result["position"]:
            assert 0 <= x <= width and 0 <= y <= height, (result, width, height)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"type": "url", "content": "https://example.com/spring?utm_source=flyer"}, None),
        ({"type": "text", "content": "Grüße aus Köln — 東京 ✓"}, None),
        ({"type": "wifi", "content": WIFI}, WIFI_PAYLOAD),
        (
            {
                "type": "url",
                "content": "https://example.com/styled",
                "size": 700,
                "design": {"dot_style": "round", "corner_style": "extra-rounded"},
            },
            None,
        ),
    ],
    ids=["url", "unicode-text", "wifi", "styled"],
)
async def test_a_generated_code_decodes_to_its_content(
    client: ApiClient, body: dict[str, Any], text: str | None
) -> None:
    png = await qr_png(client, body)
    results = (await client.decode(png)).data()["results"]
    assert [(r["format"], r["text"]) for r in results] == [("QR", text or body["content"])]
    assert_inside(results, png)


async def test_an_ean13_barcode_decodes_with_its_check_digit(client: ApiClient) -> None:
    response = await client.generate_barcode(
        {"format": "EAN13", "value": "590123412345"}, accept="image/png"
    )
    assert response.status == 200, response.body[:500]
    results = (await client.decode(response.body)).data()["results"]
    assert [(r["format"], r["text"]) for r in results] == [("EAN13", "5901234123457")]
    assert_inside(results, response.body)


async def test_a_phone_photo_as_jpeg_decodes(client: ApiClient) -> None:
    content = "https://example.com/photographed/menu?table=12"
    png = await qr_png(client, {"type": "url", "content": content, "size": 600})
    photo = phone_photo(png, side=1000)
    results = (await client.decode(photo, "image/jpeg")).data()["results"]
    assert [(r["format"], r["text"]) for r in results] == [("QR", content)]
    assert_inside(results, photo)


async def test_a_webp_decodes(client: ApiClient) -> None:
    png = await qr_png(client, {"type": "text", "content": "sent as webp"})
    webp = reencoded(png, "WEBP", quality=80)
    results = (await client.decode(webp, "image/webp")).data()["results"]
    assert [(r["format"], r["text"]) for r in results] == [("QR", "sent as webp")]


async def test_every_code_on_a_page_is_found_inside_its_place(client: ApiClient) -> None:
    contents = ["first code on the page", "https://example.com/second", "third"]
    codes = [await qr_png(client, {"type": "text", "content": c, "size": 300}) for c in contents]
    ean = await client.generate_barcode(
        {"format": "EAN13", "value": "400638133393"}, accept="image/png"
    )
    page, boxes = page_of([*codes, ean.body])
    results = (await client.decode(page)).data()["results"]
    found = sorted((r["format"], r["text"]) for r in results)
    assert found == sorted([*(("QR", c) for c in contents), ("EAN13", "4006381333931")])
    assert_inside(results, page)
    for result in results:
        assert any(
            all(
                left - 4 <= x <= right + 4 and top - 4 <= y <= bottom + 4
                for x, y in result["position"]
            )
            for left, top, right, bottom in boxes
        ), result


async def test_only_the_formats_asked_for_are_looked_for(client: ApiClient) -> None:
    qr = await qr_png(client, {"type": "text", "content": "the qr code", "size": 300})
    ean = await client.generate_barcode(
        {"format": "EAN13", "value": "400638133393"}, accept="image/png"
    )
    page, _ = page_of([qr, ean.body])
    both = [("EAN13", "4006381333931"), ("QR", "the qr code")]

    async def found(params: Any) -> list[tuple[str, str]]:
        response = await client.decode(page, params=params)
        assert response.status == 200, response.body[:300]
        return sorted((r["format"], r["text"]) for r in response.data()["results"])

    assert await found({"formats": "QR"}) == [both[1]]
    assert await found({"formats": "ean13"}) == [both[0]]  # names in any case
    assert await found({"formats": "QR, EAN13"}) == both
    assert await found([("formats", "QR"), ("formats", "EAN13")]) == both  # or repeated
    assert await found({"formats": "DATAMATRIX,AZTEC"}) == []
    assert await found(None) == both


async def test_an_unknown_format_is_refused_with_the_names_there_are(client: ApiClient) -> None:
    png = await qr_png(client, {"type": "text", "content": "x"})
    response = await client.decode(png, params={"formats": "QR,QRCODE9"})
    error = response.json()["error"]
    assert (response.status, error["code"]) == (400, "INVALID_PARAMETER")
    assert error["details"]["field"] == "formats"
    assert "'QRCODE9'" in error["message"]
    assert "DATAMATRIX" in error["message"] and "EAN13" in error["message"]
    long = await client.decode(png, params={"formats": ",".join(["QR"] * 400)})
    assert (long.status, long.json()["error"]["details"]["field"]) == (400, "formats")


async def test_an_image_without_codes_gives_an_empty_list(client: ApiClient) -> None:
    out = io.BytesIO()
    Image.new("RGB", (200, 120), "#ddeeff").save(out, "PNG")
    assert (await client.decode(out.getvalue())).data() == {"results": []}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "INVALID_IMAGE"),
        (b"definitely not an image", "image/png", 400, "INVALID_IMAGE"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png", 400, "INVALID_IMAGE"),
        (b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024), "image/png", 413, "PAYLOAD_TOO_LARGE"),
        (b"\x89PNG\r\n\x1a\n", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"image": "x"}', "application/json", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"\x89PNG\r\n\x1a\n", None, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
    ids=["empty", "text", "gif", "over-10-MiB", "text-plain", "json", "octet-stream"],
)
async def test_what_is_not_an_accepted_image_is_refused(
    client: ApiClient, body: bytes, content_type: str | None, status: int, code: str
) -> None:
    response = await client.decode(body, content_type)
    assert (response.status, response.error_code) == (status, code), response.body[:300]


async def test_a_truncated_png_is_invalid_image(client: ApiClient) -> None:
    png = await qr_png(client, {"type": "text", "content": "cut short"})
    response = await client.decode(png[: len(png) // 2])
    assert (response.status, response.error_code) == (400, "INVALID_IMAGE")


async def test_a_decompression_bomb_is_refused_fast_and_no_worker_dies(
    stack: Stack, client: ApiClient
) -> None:
    restarts = render_pool_restarts(stack)
    bomb = claimed_size_png(100_000, 100_000)  # 1 KB declaring 40 GB of pixels
    assert len(bomb) < 2048
    started = time.perf_counter()
    response = await client.decode(bomb)
    assert time.perf_counter() - started < 1.0
    assert (response.status, response.error_code) == (400, "INVALID_IMAGE")
    assert "megapixels" in response.envelope["error"]["message"]
    assert render_pool_restarts(stack) == restarts
    png = await qr_png(client, {"type": "text", "content": "after the bomb"})
    results = (await client.decode(png)).data()["results"]
    assert [r["text"] for r in results] == ["after the bomb"]


async def test_decoding_needs_a_key_and_counts_against_the_rate_limit(
    client: ApiClient,
) -> None:
    png = await qr_png(client, {"type": "text", "content": "counted"})
    assert (await client.as_key(None).decode(png)).status == 401
    first = await client.decode(png)
    second = await client.decode(png)
    assert first.status == second.status == 200
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in (first, second)]
    assert remaining[1] < remaining[0]


async def test_a_chunked_body_over_10_mib_is_refused_while_read(
    http: aiohttp.ClientSession, stack: Stack, decoder: ApiAccount
) -> None:
    """No Content-Length to refuse up front: the limit holds as the body streams in."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"\x89PNG\r\n\x1a\n"
        for _ in range(11):
            yield bytes(1024 * 1024)

    async with http.post(
        f"{stack.gateway_url}/v1/decode",
        data=chunks(),
        headers={**decoder.headers, "Content-Type": "image/png"},
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_a_decode_with_an_idempotency_key_is_replayed(client: ApiClient) -> None:
    """The idempotency middleware reads a small body before the handler does."""
    png = await qr_png(client, {"type": "text", "content": "once"})
    key = f"decode-{time.time_ns()}"
    first = await client.request(
        "POST", "/v1/decode", data=png, headers={"Content-Type": "image/png"}, idempotency_key=key
    )
    again = await client.request(
        "POST", "/v1/decode", data=png, headers={"Content-Type": "image/png"}, idempotency_key=key
    )
    assert first.data()["results"][0]["text"] == "once"
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.data() == first.data()
    # The same key with another query is another request, not a replay of the first.
    other = await client.request(
        "POST",
        "/v1/decode",
        data=png,
        params={"formats": "EAN13"},
        headers={"Content-Type": "image/png"},
        idempotency_key=key,
    )
    assert (other.status, other.json()["error"]["code"]) == (409, "IDEMPOTENCY_CONFLICT")
