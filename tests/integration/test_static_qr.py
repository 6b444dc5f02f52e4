"""Static QR codes end to end: gateway → render → catalog, every image decoded."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import aiohttp
from PIL import Image

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount, Stack, unlimited_account


async def _generate(
    http: aiohttp.ClientSession, stack: Stack, account: ApiAccount, body: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/generate", json=body, headers=account.headers
    ) as resp:
        payload: dict[str, Any] = await resp.json()
        assert resp.status == 200, payload
        data: dict[str, Any] = payload["data"]
        return data


async def test_generate_url_returns_record_and_a_decodable_image(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    data = await _generate(http, stack, account, {"type": "url", "content": "https://example.com"})
    assert data["qr_id"].startswith("qr_")
    assert data["kind"] == "static" and data["type"] == "url" and data["format"] == "png"
    assert data["size"] == 512 and data["error_correction"] == "M" and data["version"] >= 1
    assert data["image_url"] == f"{stack.gateway_url}/i/{data['qr_id']}.png"
    assert data["download_url"] == f"{stack.gateway_url}/v1/qrcodes/{data['qr_id']}/download"
    assert data["created_at"].endswith("Z")
    async with http.get(data["image_url"]) as resp:  # public: no key
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "image/png"
        assert "max-age" in resp.headers["Cache-Control"]
        png = await resp.read()
    assert Image.open(io.BytesIO(png)).size == (512, 512)
    assert decode_single_qr(png) == "https://example.com"


async def test_text_with_include_image_and_accept_header(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    text = "Grüße — QRForge ✓"
    data = await _generate(
        http, stack, account, {"type": "text", "content": text, "include_image": True, "size": 300}
    )
    png = base64.b64decode(data["image_base64"])
    assert Image.open(io.BytesIO(png)).size == (300, 300)
    assert decode_single_qr(png) == text
    headers = {**account.headers, "Accept": "image/png"}
    body = {"type": "text", "content": "bytes please"}
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/generate", json=body, headers=headers
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.headers["X-QR-Id"].startswith("qr_")
        assert decode_single_qr(await resp.read()) == "bytes please"


async def test_svg_format_is_vector(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    data = await _generate(
        http, stack, account, {"type": "url", "content": "https://example.com/svg", "format": "svg"}
    )
    async with http.get(data["image_url"]) as resp:
        assert resp.headers["Content-Type"] == "image/svg+xml"
        svg = await resp.text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg
    # The PNG of the same stored spec decodes to the same payload.
    async with http.get(
        data["download_url"], params={"format": "png"}, headers=account.headers
    ) as resp:
        assert decode_single_qr(await resp.read()) == "https://example.com/svg"


async def test_embed_get_returns_bytes_and_stores_nothing(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    other = stack.create_account("embedder")
    params = {
        "type": "url",
        "content": "https://example.com/embed",
        "size": "200",
        "fg_color": "1a1a6e",
    }
    async with http.get(
        f"{stack.gateway_url}/v1/qrcodes/generate", params=params, headers=other.headers
    ) as resp:
        assert resp.status == 200
        png = await resp.read()
    assert decode_single_qr(png) == "https://example.com/embed"
    async with http.get(f"{stack.gateway_url}/v1/qrcodes", headers=other.headers) as resp:
        assert (await resp.json())["pagination"]["total"] == 0


async def test_validation_errors_name_the_field(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    cases = [
        ({"type": "nope", "content": "x"}, 400, "INVALID_TYPE", "type"),
        ({"type": "url", "content": "ftp://example.com"}, 400, "INVALID_CONTENT", "content"),
        ({"type": "url", "content": "https://e.com", "size": 99}, 400, "INVALID_PARAMETER", "size"),
        (
            {"type": "url", "content": "https://e.com", "design": {"fg_color": "red"}},
            400,
            "INVALID_COLOR",
            "design.fg_color",
        ),
        (
            {"type": "text", "content": "x" * 8000, "error_correction": "H"},
            422,
            "DATA_TOO_LONG",
            None,
        ),
    ]
    for body, status, code, field in cases:
        async with http.post(
            f"{stack.gateway_url}/v1/qrcodes/generate", json=body, headers=account.headers
        ) as resp:
            payload = await resp.json()
            assert resp.status == status, (body, payload)
            assert payload["error"]["code"] == code
            if field is not None:
                assert payload["error"]["details"]["field"] == field


async def test_catalog_list_get_download_delete_and_scoping(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("catalog-owner")
    stranger = stack.create_account("catalog-stranger")
    ids = []
    for i in range(5):
        qr_type = "url" if i % 2 == 0 else "text"
        content = f"https://example.com/{i}" if qr_type == "url" else f"note {i}"
        ids.append(
            (
                await _generate(
                    http, stack, owner, {"type": qr_type, "content": content, "name": f"code {i}"}
                )
            )["qr_id"]
        )
    base = f"{stack.gateway_url}/v1/qrcodes"

    async with http.get(base, params={"limit": "2"}, headers=owner.headers) as resp:
        page1 = await resp.json()
    assert [c["qr_id"] for c in page1["data"]] == ids[::-1][:2]
    assert page1["pagination"]["total"] == 5 and page1["pagination"]["pages"] == 3
    async with http.get(
        base,
        params={"limit": "2", "cursor": page1["pagination"]["next_cursor"]},
        headers=owner.headers,
    ) as resp:
        assert [c["qr_id"] for c in (await resp.json())["data"]] == ids[::-1][2:4]
    async with http.get(base, params={"page": "3", "limit": "2"}, headers=owner.headers) as resp:
        page3 = await resp.json()
        assert [c["qr_id"] for c in page3["data"]] == [ids[0]]
        assert page3["pagination"]["next_cursor"] is None
    async with http.get(base, params={"type": "text"}, headers=owner.headers) as resp:
        assert {c["qr_id"] for c in (await resp.json())["data"]} == {ids[1], ids[3]}
    async with http.get(base, params={"limit": "101"}, headers=owner.headers) as resp:
        assert resp.status == 400

    async with http.get(f"{base}/{ids[0]}", headers=stranger.headers) as resp:
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "QR_NOT_FOUND"
    async with http.get(f"{base}/{ids[0]}/download", headers=stranger.headers) as resp:
        assert resp.status == 404
    async with http.delete(f"{base}/{ids[0]}", headers=stranger.headers) as resp:
        assert resp.status == 404

    async with http.get(f"{base}/{ids[0]}/download", headers=owner.headers) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Disposition"] == f'attachment; filename="{ids[0]}.png"'
        etag = resp.headers["ETag"]
        assert etag.startswith('"')
        assert decode_single_qr(await resp.read()) == "https://example.com/0"
    async with http.get(
        f"{base}/{ids[0]}/download", headers={**owner.headers, "If-None-Match": etag}
    ) as resp:
        assert resp.status == 304
    async with http.get(
        f"{base}/{ids[0]}/download", params={"size": "1024"}, headers=owner.headers
    ) as resp:
        png = await resp.read()
        assert resp.headers["ETag"] != etag
        assert Image.open(io.BytesIO(png)).size == (1024, 1024)

    async with http.delete(f"{base}/{ids[0]}", headers=owner.headers) as resp:
        assert resp.status == 200 and (await resp.json())["data"]["deleted"] is True
    async with http.get(f"{base}/{ids[0]}", headers=owner.headers) as resp:
        assert resp.status == 404
    async with http.get(f"{stack.gateway_url}/i/{ids[0]}.png") as resp:
        assert resp.status == 404


async def test_plan_code_limit_is_quota_exceeded(stack: Stack, http: aiohttp.ClientSession) -> None:
    small = stack.create_account("small-plan", max_codes=2)
    for i in range(2):
        await _generate(http, stack, small, {"type": "text", "content": f"n{i}"})
    body = {"type": "text", "content": "one too many"}
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/generate", json=body, headers=small.headers
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "QUOTA_EXCEEDED"


async def test_concurrent_requests_each_get_their_own_code(api: ApiClient, stack: Stack) -> None:
    """The gateway sends the renders of concurrent requests to the render service together (in
    batches), and stores the static codes of an account under no limit in groups: no answer may
    carry another request's code, an item that fails fails alone, and every code is counted."""
    api = api.as_account(unlimited_account(stack, "concurrent creates"))
    contents = [f"https://example.com/concurrent/{n}" for n in range(48)]
    too_long = "x" * 3000  # past version 40's capacity at level M
    embeds, creates = await asyncio.gather(
        asyncio.gather(
            *(
                api.request("GET", "/v1/qrcodes/generate", params={"type": "text", "content": c})
                for c in [*contents[:24], too_long]
            )
        ),
        asyncio.gather(
            *(
                api.generate({"type": "text", "content": c, "include_image": True})
                for c in [*contents[24:], too_long]
            )
        ),
    )
    assert [response.status for response in embeds] == [200] * 24 + [422]
    assert embeds[-1].error_code == "DATA_TOO_LONG"
    assert [decode_single_qr(response.body) for response in embeds[:24]] == contents[:24]
    assert [response.status for response in creates] == [200] * 24 + [422]
    assert creates[-1].error_code == "DATA_TOO_LONG"
    records = [response.data() for response in creates[:24]]
    assert [record["content"] for record in records] == contents[24:]
    images = [base64.b64decode(record["image_base64"]) for record in records]
    assert [decode_single_qr(image) for image in images] == contents[24:]
    for record in records:  # each stored as its own code
        stored = (await api.get_code(record["qr_id"])).data()
        assert stored["content"] == record["content"]
    usage = (await api.usage()).data()
    assert usage["qr_codes"] == {"used": 24, "limit": None}
