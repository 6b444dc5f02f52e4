"""``POST /v1/qrcodes/preview`` through the real gateway and render service: the image a static
code's body would have, its logo sent inline, checked and verified like a create, and nothing
stored: no code in the list, nothing counted against the plan."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.decoding import decode_single_qr, decode_single_qr_image
from tests.support.stack import Stack


def _logo(colour: tuple[int, int, int] = (220, 20, 20)) -> str:
    out = io.BytesIO()
    Image.new("RGB", (120, 120), colour).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def _preview(
    owner: ApiClient, body: dict[str, Any], accept: str | None = None
) -> ApiResponse:
    headers = {"Accept": accept} if accept else None
    return await owner.request("POST", "/v1/qrcodes/preview", json_body=body, headers=headers)


async def _stored(owner: ApiClient) -> tuple[int, int]:
    """(codes listed, codes counted against the plan)."""
    listed = (await owner.list_codes()).envelope["pagination"]["total"]
    used = (await owner.usage()).data()["qr_codes"]["used"]
    return int(listed), int(used)


async def test_a_preview_draws_an_inline_logo_and_stores_nothing(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("preview"))
    before = await _stored(owner)
    body = {
        "type": "url",
        "content": "https://example.com/spring",
        "size": 320,
        "name": "never stored",
        "tags": ["never"],
        "design": {"logo_data": _logo(), "frame": {"style": "banner-bottom", "text": "SCAN ME"}},
    }
    drawn = await _preview(owner, body)
    assert drawn.status == 200, drawn.text
    assert drawn.headers["Content-Type"] == "image/png"
    assert drawn.headers["Cache-Control"] == "no-store"
    assert "X-QR-Id" not in drawn.headers
    assert decode_single_qr(drawn.body) == "https://example.com/spring"
    image = Image.open(io.BytesIO(drawn.body)).convert("RGB")
    assert image.width == 320 and image.height > image.width  # the banner adds height
    # The logo sits in the middle of the code (the square part above the banner).
    assert image.getpixel((image.width // 2, image.width // 2)) == (220, 20, 20)
    assert await _stored(owner) == before

    # The format from Accept, as for a create; the fit warnings in X-QR-Warnings.
    svg = await _preview(owner, {"type": "text", "content": "hello"}, accept="image/svg+xml")
    assert svg.status == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    assert decode_single_qr_image(svg.body, "image/svg+xml") == "hello"
    inverted = {"fg_color": "#ffffff", "bg_color": "#000000"}
    warned = await _preview(owner, {"type": "text", "content": "dark", "design": inverted})
    assert warned.status == 200 and "INVERTED_COLORS" in warned.headers["X-QR-Warnings"]
    assert decode_single_qr(warned.body) == "dark"
    assert await _stored(owner) == before


async def test_a_preview_refuses_what_a_create_refuses(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("preview-refused"))
    bad_url = await _preview(owner, {"type": "url", "content": "not a url"})
    assert (bad_url.status, bad_url.error_code) == (400, "INVALID_CONTENT")
    huge = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(1024 * 1024 + 1)).decode()
    too_big = await _preview(owner, {"type": "text", "content": "x", "design": {"logo_data": huge}})
    assert (too_big.status, too_big.error_code) == (400, "LOGO_TOO_LARGE")
    not_an_image = await _preview(
        owner, {"type": "text", "content": "x", "design": {"logo_data": "bm90IGFuIGltYWdl"}}
    )
    assert not_an_image.status == 400
    unknown_design = await _preview(
        owner, {"type": "text", "content": "x", "design_id": "dsg_0000000000000000"}
    )
    assert (unknown_design.status, unknown_design.error_code) == (404, "DESIGN_NOT_FOUND")
    assert await _stored(owner) == (0, 0)
