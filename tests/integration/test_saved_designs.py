"""Saved designs through the real system: codes drawn with ``design_id`` have the saved
colours and dot style (pixels checked, and the image is byte for byte the one the same design
given inline draws), inline fields win, editing the design leaves existing codes' images and
ETags alone while new codes use the edit, and a deleted design is DESIGN_NOT_FOUND. Every
image is decoded."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.stack import Stack

SAVED: dict[str, Any] = {"fg_color": "#1a237e", "bg_color": "#fff8e1", "dot_style": "dots"}


def rgb(hex_color: str) -> tuple[int, int, int]:
    value = int(hex_color[1:], 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def colours(png: bytes) -> dict[tuple[int, int, int], int]:
    """How many pixels of each colour the image has."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    counted = image.getcolors(image.width * image.height) or []
    return {(c[0], c[1], c[2]): n for n, c in counted if isinstance(c, tuple)}


def assert_drawn_in(png: bytes, fg: str, bg: str) -> None:
    """The modules are ``fg`` and the background ``bg`` (the two most common colours, the
    corner pixel in the quiet zone being the background); anti-aliased edges may add blends."""
    counts = colours(png)
    top_two = {colour for colour, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:2]}
    assert top_two == {rgb(fg), rgb(bg)}, sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    corner = Image.open(io.BytesIO(png)).convert("RGB").getpixel((0, 0))
    assert corner == rgb(bg)


@pytest.fixture
def designer(api: ApiClient, stack: Stack) -> ApiClient:
    """An account of its own: the shared account's quota and rate belong to other tests."""
    return api.as_account(stack.create_account("designs", rate_limit=100_000, max_codes=10_000))


async def embed(api: ApiClient, content: str, **params: str) -> bytes:
    answer = await api.request(
        "GET", "/v1/qrcodes/generate", params={"type": "text", "content": content, **params}
    )
    assert answer.status == 200, answer.body[:300]
    assert decode_single_qr(answer.body) == content
    return answer.body


async def test_a_code_drawn_with_a_saved_design_has_its_colours_and_dots(
    designer: ApiClient,
) -> None:
    design_id = (await designer.create_design({"name": "Brand", "design": SAVED})).data(201)[
        "design_id"
    ]
    answer = await designer.generate(
        {"type": "text", "content": "saved design", "design_id": design_id}, accept="image/png"
    )
    assert answer.status == 200, answer.body[:300]
    assert decode_single_qr(answer.body) == "saved design"
    assert_drawn_in(answer.body, SAVED["fg_color"], SAVED["bg_color"])
    # The dot style too: the embed of the same design given inline is the same image.
    inline = {key: value.lstrip("#") for key, value in SAVED.items()}
    saved_embed = await embed(designer, "same", design_id=design_id)
    assert saved_embed == await embed(designer, "same", **inline)
    assert saved_embed != await embed(designer, "same", **{**inline, "dot_style": "square"})


async def test_inline_fields_override_the_saved_ones(designer: ApiClient) -> None:
    design_id = (await designer.create_design({"name": "Brand", "design": SAVED})).data(201)[
        "design_id"
    ]
    body = {"type": "text", "content": "override", "design_id": design_id}
    code = (await designer.generate({**body, "design": {"fg_color": "#b71c1c"}})).data()
    assert code["design"]["fg_color"] == "#b71c1c"
    assert code["design"]["dot_style"] == "dots" and code["design"]["bg_color"] == "#fff8e1"
    image = (await designer.download(code["qr_id"])).body
    assert decode_single_qr(image) == "override"
    assert_drawn_in(image, "#b71c1c", SAVED["bg_color"])


async def test_editing_a_design_changes_new_codes_only(designer: ApiClient) -> None:
    design_id = (await designer.create_design({"name": "Brand", "design": SAVED})).data(201)[
        "design_id"
    ]
    body = {"type": "text", "content": "before the edit", "design_id": design_id}
    old = (await designer.generate(body)).data()
    old_download = await designer.download(old["qr_id"])
    assert old_download.status == 200 and decode_single_qr(old_download.body) == body["content"]
    old_etag = old_download.headers["ETag"]

    edit = {"design": {"fg_color": "#004d40", "dot_style": "square"}}
    edited = (await designer.patch_design(design_id, edit)).data()
    assert edited["design"] == {**SAVED, "fg_color": "#004d40", "dot_style": "square"}

    again = await designer.download(old["qr_id"])
    assert (again.headers["ETag"], again.body) == (old_etag, old_download.body)
    assert (
        await designer.download(old["qr_id"], headers={"If-None-Match": old_etag})
    ).status == 304
    assert (await designer.get_code(old["qr_id"])).data()["design"]["fg_color"] == "#1a237e"
    public = await designer.fetch(old["image_url"])
    assert public.body == old_download.body

    new = (await designer.generate({**body, "content": "after the edit"})).data()
    assert new["design"]["fg_color"] == "#004d40" and new["design"]["dot_style"] == "square"
    image = (await designer.download(new["qr_id"])).body
    assert decode_single_qr(image) == "after the edit"
    assert_drawn_in(image, "#004d40", SAVED["bg_color"])


async def test_a_deleted_design_is_not_found_and_its_codes_stay(designer: ApiClient) -> None:
    design_id = (await designer.create_design({"name": "Brand", "design": SAVED})).data(201)[
        "design_id"
    ]
    dynamic = (
        await designer.create_dynamic(
            {"name": "flyer", "destination_url": "https://example.com", "design_id": design_id}
        )
    ).data(201)
    before = await designer.download(dynamic["qr_id"])
    assert decode_single_qr(before.body) == dynamic["short_url"]
    assert_drawn_in(before.body, SAVED["fg_color"], SAVED["bg_color"])

    assert (await designer.delete_design(design_id)).data()["deleted"] is True
    for answer in (
        await designer.generate({"type": "text", "content": "x", "design_id": design_id}),
        await designer.create_dynamic(
            {"name": "f", "destination_url": "https://example.com", "design_id": design_id}
        ),
        await designer.request(
            "GET",
            "/v1/qrcodes/generate",
            params={"type": "text", "content": "x", "design_id": design_id},
        ),
        await designer.get_design(design_id),
    ):
        assert (answer.status, answer.error_code) == (404, "DESIGN_NOT_FOUND")
    batch = (
        await designer.batch([{"type": "text", "content": "b", "design_id": design_id}])
    ).data()
    assert batch["results"][0]["error"]["code"] == "DESIGN_NOT_FOUND"
    after = await designer.download(dynamic["qr_id"])
    assert (after.headers["ETag"], after.body) == (before.headers["ETag"], before.body)


async def test_designs_belong_to_their_account(designer: ApiClient, stack: Stack) -> None:
    design_id = (await designer.create_design({"name": "Brand", "design": SAVED})).data(201)[
        "design_id"
    ]
    other = designer.as_account(stack.create_account("other designs"))
    answer = await other.generate({"type": "text", "content": "x", "design_id": design_id})
    assert (answer.status, answer.error_code) == (404, "DESIGN_NOT_FOUND")
    assert (await other.get_design(design_id)).error_code == "DESIGN_NOT_FOUND"


def red_square_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 0, 0)).save(out, format="PNG")
    return out.getvalue()


async def test_a_saved_logo_is_drawn_on_every_route_embed_included(designer: ApiClient) -> None:
    logo = base64.b64encode(red_square_png()).decode()
    created = (
        await designer.create_design(
            {"name": "Logo", "design": {"logo_data": logo, "logo_size": 0.2}}
        )
    ).data(201)
    assert created["logo_sha256"] and "logo_data" not in created["design"]
    embedded = await embed(designer, "logo embed", design_id=created["design_id"])
    assert colours(embedded).get((200, 0, 0), 0) > 500  # the logo, in the middle
    code = (
        await designer.generate(
            {"type": "text", "content": "logo code", "design_id": created["design_id"]}
        )
    ).data()
    assert code["error_correction"] == "H"  # a logo raises the default level, as inline
    image = (await designer.download(code["qr_id"])).body
    assert decode_single_qr(image) == "logo code"
    assert colours(image).get((200, 0, 0), 0) > 500
