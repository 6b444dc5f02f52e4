"""Saved designs in-process: create, read, list (pages and cursors), patch (field by field),
delete; checked by the inline-design parser; scoped to the account; and used by ``design_id``
on every QR route, with the inline ``design`` winning field by field (what render is asked to
draw is read from the fake's recorded requests; every image is decoded)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from services.gateway.designs import saved_designs
from tests.service.gateway.conftest import new_account
from tests.service.gateway.fakes import FakeBackends
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.hostile_logos import blank_png

BRAND: dict[str, Any] = {"fg_color": "#1A237E", "dot_style": "rounded", "corner_style": "dot"}


async def make_design(api: ApiClient, name: str = "Brand", **design: Any) -> dict[str, Any]:
    data: dict[str, Any] = (
        await api.create_design({"name": name, "design": design or BRAND})
    ).data(201)
    return data


def drawn_design(backends: FakeBackends) -> Any:
    """The design of the last QR render the gateway asked for."""
    return backends.render.script.requests("RenderQR")[-1].design


async def test_create_read_list_patch_delete(api: ApiClient) -> None:
    created = await make_design(api)
    assert created["design_id"].startswith("dsg_")
    assert created["name"] == "Brand"
    # Normalised as the parser reads it; only the fields given are kept.
    assert created["design"] == {
        "fg_color": "#1a237e",
        "dot_style": "round",
        "corner_style": "round",
    }
    assert created["logo_sha256"] is None
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    design_id = created["design_id"]
    assert (await api.get_design(design_id)).data() == created

    patched = (
        await api.patch_design(design_id, {"name": "Brand 2", "design": {"bg_color": "#fff"}})
    ).data()
    assert patched["name"] == "Brand 2"
    assert patched["design"] == {**created["design"], "bg_color": "#ffffff"}
    removed = (await api.patch_design(design_id, {"design": {"dot_style": None}})).data()
    assert "dot_style" not in removed["design"] and removed["name"] == "Brand 2"

    assert [d["design_id"] for d in (await api.list_designs()).data()] == [design_id]
    assert (await api.delete_design(design_id)).data() == {"design_id": design_id, "deleted": True}
    for answer in (
        await api.get_design(design_id),
        await api.patch_design(design_id, {"name": "x"}),
        await api.delete_design(design_id),
    ):
        assert (answer.status, answer.error_code) == (404, "DESIGN_NOT_FOUND")


async def test_pages_and_cursors(api: ApiClient) -> None:
    made = [(await make_design(api, f"d{i}"))["design_id"] for i in range(5)]
    page_two = await api.list_designs(page="2", limit="2")
    assert [d["design_id"] for d in page_two.data()] == made[::-1][2:4]
    assert page_two.envelope["pagination"] | {"next_cursor": None} == {
        "total": 5, "page": 2, "limit": 2, "pages": 3, "next_cursor": None,
    }  # fmt: skip
    seen: list[str] = []
    params = {"limit": "2"}
    for _ in range(5):
        answer = await api.list_designs(**params)
        seen += [d["design_id"] for d in answer.data()]
        cursor = answer.envelope["pagination"]["next_cursor"]
        if cursor is None:
            break
        params = {"limit": "2", "cursor": cursor}
    assert seen == made[::-1]
    for params, field in (({"limit": "101"}, "limit"), ({"cursor": "bm90IG91cnM"}, "cursor")):
        answer = await api.list_designs(**params)
        assert (answer.status, answer.envelope["error"]["details"]) == (400, {"field": field})


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"design": BRAND}, "INVALID_PARAMETER", "name"),
        ({"name": "  ", "design": BRAND}, "INVALID_PARAMETER", "name"),
        ({"name": "x" * 201, "design": BRAND}, "INVALID_PARAMETER", "name"),
        ({"name": "n"}, "INVALID_PARAMETER", "design"),
        ({"name": "n", "design": "red"}, "INVALID_PARAMETER", "design"),
        ({"name": "n", "design": {"fg_color": "red"}}, "INVALID_COLOR", "design.fg_color"),
        ({"name": "n", "design": {"sparkles": True}}, "INVALID_PARAMETER", "design.sparkles"),
        ({"name": "n", "design": {"logo_size": 0.9}}, "LOGO_TOO_LARGE", "design.logo_size"),
        (
            {"name": "n", "design": {"logo_url": "http://x.io/l.png"}},
            "LOGO_FETCH_FAILED",
            "design.logo_url",
        ),
        ({"name": "n", "design": {"logo_data": "!!"}}, None, "design.logo_data"),
        ({"name": "n", "design": BRAND, "colour": 1}, "INVALID_PARAMETER", "colour"),
    ],
)
async def test_designs_are_checked_like_inline_ones(
    api: ApiClient, body: dict[str, Any], code: str | None, field: str
) -> None:
    answer = await api.create_design(body)
    assert answer.status in (400, 422), answer.body
    if code is not None:
        assert answer.error_code == code
    assert answer.envelope["error"]["details"]["field"] == field
    assert (await api.list_designs()).envelope["pagination"]["total"] == 0


async def test_a_patch_is_checked_as_a_whole(api: ApiClient) -> None:
    design_id = (await make_design(api))["design_id"]
    answer = await api.patch_design(design_id, {"design": {"bg_color": "#zzz"}})
    assert (answer.status, answer.error_code) == (400, "INVALID_COLOR")
    for body in ({}, {"design_id": "dsg_x"}, {"design": None}):
        answer = await api.patch_design(design_id, body)
        assert (answer.status, answer.error_code) == (400, "INVALID_PARAMETER"), body
    assert (await api.get_design(design_id)).data()["design"]["fg_color"] == "#1a237e"


async def test_another_accounts_design_is_not_found(
    api: ApiClient, gateway: ApiClient, backends: FakeBackends
) -> None:
    design_id = (await make_design(api))["design_id"]
    other = gateway.as_account(new_account(backends))
    for answer in (
        await other.get_design(design_id),
        await other.patch_design(design_id, {"name": "mine"}),
        await other.delete_design(design_id),
        await other.generate({"type": "text", "content": "x", "design_id": design_id}),
    ):
        assert (answer.status, answer.error_code) == (404, "DESIGN_NOT_FOUND")
    assert (await other.list_designs()).data() == []
    assert (await api.get_design(design_id)).data()["name"] == "Brand"
    for malformed in ("qr_abc", "dsg_", "dsg_a-b", "x" * 300):
        answer = await api.get_design(malformed)
        assert (answer.status, answer.error_code) == (404, "DESIGN_NOT_FOUND"), malformed


async def test_the_number_of_designs_is_bounded(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_designs, "MAX_DESIGNS_PER_ACCOUNT", 2)
    await make_design(api, "one")
    await make_design(api, "two")
    answer = await api.create_design({"name": "three", "design": BRAND})
    assert (answer.status, answer.error_code) == (403, "QUOTA_EXCEEDED")


async def test_concurrent_creates_never_pass_the_limit(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_designs, "MAX_DESIGNS_PER_ACCOUNT", 3)
    answers = await asyncio.gather(
        *(api.create_design({"name": f"d{i}", "design": BRAND}) for i in range(10))
    )
    assert sorted(answer.status for answer in answers) == [201] * 3 + [403] * 7
    assert (await api.list_designs()).envelope["pagination"]["total"] == 3


async def test_every_qr_route_draws_with_a_saved_design(
    api: ApiClient, backends: FakeBackends
) -> None:
    design_id = (await make_design(api))["design_id"]

    code = (
        await api.generate({"type": "text", "content": "static", "design_id": design_id})
    ).data()
    assert code["design"]["fg_color"] == "#1a237e" and code["design"]["dot_style"] == "round"
    assert drawn_design(backends).fg_color == "#1a237e"

    dynamic = (
        await api.create_dynamic(
            {"name": "d", "destination_url": "https://example.com", "design_id": design_id}
        )
    ).data(201)
    assert dynamic["design"]["corner_style"] == "round"

    embed = await api.request(
        "GET", "/v1/qrcodes/generate",
        params={"type": "text", "content": "embed", "design_id": design_id, "fg_color": "222"},
    )  # fmt: skip
    assert embed.status == 200 and decode_single_qr(embed.body) == "embed"
    assert (drawn_design(backends).fg_color, drawn_design(backends).dot_style) == (
        "#222222",
        "round",
    )

    batch = (
        await api.batch(
            [
                {"type": "text", "content": "b0", "design_id": design_id},
                {"type": "text", "content": "b1", "design_id": "dsg_nothere"},
            ]
        )
    ).data()
    assert batch["results"][0]["data"]["design"]["fg_color"] == "#1a237e"
    assert batch["results"][1]["error"]["code"] == "DESIGN_NOT_FOUND"


async def test_inline_fields_override_the_saved_ones(
    api: ApiClient, backends: FakeBackends
) -> None:
    design_id = (await make_design(api))["design_id"]
    answer = await api.generate(
        {
            "type": "text",
            "content": "override",
            "design_id": design_id,
            "design": {"fg_color": "#004d40", "dot_style": None},
        },
        accept="image/png",
    )
    assert answer.status == 200 and decode_single_qr(answer.body) == "override"
    drawn = drawn_design(backends)
    assert (drawn.fg_color, drawn.dot_style, drawn.corner_style) == ("#004d40", "square", "round")
    for design_id_value, status, code in ((42, 400, "INVALID_PARAMETER"), ("nope", 404, None)):
        answer = await api.generate({"type": "text", "content": "x", "design_id": design_id_value})
        assert answer.status == status
        assert answer.envelope["error"]["details"] == {"field": "design_id"}
        assert code is None or answer.error_code == code


async def test_a_saved_logo_is_stored_once_and_drawn(
    api: ApiClient, backends: FakeBackends
) -> None:
    logo = blank_png(40, 40)
    created = await make_design(
        api, "logo", logo_data=base64.b64encode(logo).decode(), logo_size=0.25
    )
    assert created["logo_sha256"] and "logo_data" not in created["design"]
    code = (
        await api.generate({"type": "text", "content": "l", "design_id": created["design_id"]})
    ).data()
    drawn = backends.render.script.requests("RenderQR")[-1]
    assert drawn.design.logo and drawn.design.logo_size == 0.25
    assert drawn.error_correction == "H"  # a logo raises the default level, as inline
    assert code["design"]["logo_size"] == 0.25
    # Dropping the logo of the saved design, then an override without one.
    patched = (await api.patch_design(created["design_id"], {"design": {"logo_data": None}})).data()
    assert patched["logo_sha256"] is None and patched["design"] == {"logo_size": 0.25}
    await api.generate({"type": "text", "content": "l2", "design_id": created["design_id"]})
    assert backends.render.script.requests("RenderQR")[-1].design.logo == b""
