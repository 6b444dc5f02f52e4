"""design.fit through the real system (API.md "Designs v1.1"): under "auto" a design that would
not scan is fitted and the answer says what was drawn (``applied``) and why (``warnings``, and
``X-QR-Warnings`` on image bytes); under "strict" it is refused as before. Every image is
decoded from its bytes, at the level the API says it drew."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.stack import Stack, unlimited_account

URL = "https://example.com/fit/menu?table=12"
DOT_STYLES = ["square", "round", "dots", "classy", "classy-rounded"]


def _small_png_logo() -> str:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((2, 2, 61, 61), fill=(220, 40, 60, 255))
    draw.rectangle((22, 22, 42, 42), fill=(20, 90, 200, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


LOGO = _small_png_logo()


def decoded(png: bytes, *, inverted: bool = False) -> list[tuple[str, str]]:
    """(text, level) of every QR code in a PNG; ``inverted`` reads a light-on-dark code with
    zxing's invert pass, as a phone camera app does."""
    gray = Image.open(io.BytesIO(png)).convert("L")
    results = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode]),
        try_invert=inverted,
        text_mode=zxingcpp.TextMode.Plain,
    )
    return [(result.text, result.ec_level) for result in results]


def codes(data: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in data["warnings"]]


def image_of(data: dict[str, Any]) -> bytes:
    return base64.b64decode(data["image_base64"])


def header_codes(response: ApiResponse) -> list[str]:
    value = response.headers["X-QR-Warnings"]
    return value.split(",") if value else []


@pytest.fixture
def fit_api(api: ApiClient, stack: Stack) -> ApiClient:
    """An account of its own: the matrix below creates dozens of codes."""
    return api.as_account(unlimited_account(stack, "design fit"))


async def test_a_plain_code_says_nothing_was_changed(fit_api: ApiClient) -> None:
    data = (await fit_api.generate({"type": "url", "content": URL, "include_image": True})).data()
    assert data["applied"] == {"error_correction": "M", "logo_size": None}
    assert data["warnings"] == []
    assert decoded(image_of(data)) == [(URL, "M")]
    embed = await fit_api.request(
        "GET", "/v1/qrcodes/generate", params={"type": "url", "content": URL}
    )
    assert embed.status == 200
    assert embed.headers["X-QR-Warnings"] == ""
    assert decoded(embed.body) == [(URL, "M")]


async def test_a_logo_too_big_for_the_chosen_level_is_shrunk_and_stored_so(
    fit_api: ApiClient,
) -> None:
    body = {
        "type": "url",
        "content": URL,
        "error_correction": "M",
        "design": {"dot_style": "round", "logo_data": LOGO, "logo_size": 0.4},
        "include_image": True,
    }
    data = (await fit_api.generate(body)).data()
    applied = data["applied"]
    assert applied["error_correction"] == "M"  # chosen by the client: never raised
    assert 0.1 <= applied["logo_size"] < 0.4
    assert codes(data) == ["LOGO_REDUCED"]
    assert f"to {applied['logo_size']:g}" in data["warnings"][0]["message"]
    assert data["design"]["logo_size"] == 0.4  # what was asked stays in the design
    assert decoded(image_of(data)) == [(URL, "M")]

    stored = (await fit_api.get_code(data["qr_id"])).data()
    assert (stored["applied"], stored["warnings"]) == (applied, data["warnings"])
    listed = (await fit_api.list_codes()).data()
    [row] = [row for row in listed if row["qr_id"] == data["qr_id"]]
    assert (row["applied"], row["warnings"]) == (applied, data["warnings"])

    download = await fit_api.download(data["qr_id"])
    assert download.status == 200
    assert header_codes(download) == ["LOGO_REDUCED"]
    assert download.body == image_of(data)  # redrawn from the record: the same fitting
    public = await fit_api.fetch(data["image_url"])
    assert header_codes(public) == ["LOGO_REDUCED"]
    assert decoded(public.body) == [(URL, "M")]

    as_image = await fit_api.generate(body, accept="image/png")
    assert as_image.status == 200
    assert header_codes(as_image) == ["LOGO_REDUCED"]
    assert decoded(as_image.body) == [(URL, "M")]


async def test_a_logo_at_the_default_level_is_drawn_at_h_and_shrunk_only_if_needed(
    fit_api: ApiClient,
) -> None:
    fits = {"type": "url", "content": URL, "include_image": True}
    small = (await fit_api.generate({**fits, "design": {"logo_data": LOGO}})).data()
    assert small["applied"] == {"error_correction": "H", "logo_size": 0.2}
    assert small["warnings"] == []
    assert decoded(image_of(small)) == [(URL, "H")]

    big = {**fits, "design": {"logo_data": LOGO, "logo_size": 0.4}}
    data = (await fit_api.generate(big)).data()
    assert data["applied"]["error_correction"] == "H"
    assert data["applied"]["logo_size"] < 0.4
    assert codes(data) == ["LOGO_REDUCED"]
    assert decoded(image_of(data)) == [(URL, "H")]


async def test_light_on_dark_is_accepted_with_a_warning(fit_api: ApiClient) -> None:
    design = {"fg_color": "#ffffff", "bg_color": "#1a237e", "dot_style": "round"}
    body = {"type": "url", "content": URL, "design": design, "include_image": True}
    data = (await fit_api.generate(body)).data()
    assert codes(data) == ["INVERTED_COLORS"]
    assert "phone camera apps" in data["warnings"][0]["message"]
    assert decoded(image_of(data), inverted=True) == [(URL, "M")]
    assert (await fit_api.get_code(data["qr_id"])).data()["warnings"] == data["warnings"]

    embed = await fit_api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={"type": "url", "content": URL, "fg_color": "ffffff", "bg_color": "000000"},
    )
    assert embed.status == 200
    assert header_codes(embed) == ["INVERTED_COLORS"]
    assert decoded(embed.body, inverted=True) == [(URL, "M")]


async def test_strict_keeps_the_refusals(fit_api: ApiClient) -> None:
    inverted = {"fg_color": "#ffffff", "bg_color": "#000000", "fit": "strict"}
    refused = await fit_api.generate({"type": "url", "content": URL, "design": inverted})
    assert refused.status == 422 and refused.error_code == "UNSCANNABLE_DESIGN"
    big_logo = {"logo_data": LOGO, "logo_size": 0.4, "fit": "strict"}
    refused = await fit_api.generate(
        {"type": "url", "content": URL, "error_correction": "M", "design": big_logo}
    )
    assert refused.status == 422 and refused.error_code == "UNSCANNABLE_DESIGN"
    embed = await fit_api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={
            "type": "url",
            "content": URL,
            "fg_color": "fff",
            "bg_color": "000",
            "fit": "strict",
        },
    )
    assert embed.status == 422 and embed.error_code == "UNSCANNABLE_DESIGN"
    # A design strict accepts is drawn as under auto, and says so in its design.
    data = (
        await fit_api.generate(
            {"type": "url", "content": URL, "design": {"fit": "strict"}, "include_image": True}
        )
    ).data()
    assert data["design"]["fit"] == "strict" and data["warnings"] == []
    assert decoded(image_of(data)) == [(URL, "M")]
    assert (await fit_api.download(data["qr_id"])).body == image_of(data)


@pytest.mark.parametrize("fit", ["auto", "strict"])
async def test_low_contrast_is_refused_with_the_ratio(fit_api: ApiClient, fit: str) -> None:
    design = {"fg_color": "#cccccc", "bg_color": "#ffffff", "fit": fit}
    refused = await fit_api.generate({"type": "url", "content": URL, "design": design})
    assert refused.status == 422 and refused.error_code == "UNSCANNABLE_DESIGN"
    message = refused.envelope["error"]["message"]
    assert "1.61:1" in message and "3:1 minimum" in message


async def test_the_seed_wifi_example_succeeds_verbatim(fit_api: ApiClient) -> None:
    """Seed 000's own example, password "pass" (WPA wants 8 to 63 characters)."""
    body = {
        "type": "wifi",
        "content": {"ssid": "MonWifi", "password": "pass", "encryption": "WPA"},
        "include_image": True,
    }
    data = (await fit_api.generate(body)).data()
    assert codes(data) == ["WIFI_PASSWORD_LENGTH"]
    assert data["applied"] == {"error_correction": "M", "logo_size": None}
    assert decoded(image_of(data)) == [("WIFI:T:WPA;S:MonWifi;P:pass;;", "M")]
    stored = (await fit_api.get_code(data["qr_id"])).data()
    assert codes(stored) == ["WIFI_PASSWORD_LENGTH"]
    download = await fit_api.download(data["qr_id"])
    assert header_codes(download) == ["WIFI_PASSWORD_LENGTH"]
    as_image = await fit_api.generate(body, accept="image/png")
    assert header_codes(as_image) == ["WIFI_PASSWORD_LENGTH"]
    assert decoded(as_image.body) == [("WIFI:T:WPA;S:MonWifi;P:pass;;", "M")]


async def test_batch_items_carry_applied_and_warnings(fit_api: ApiClient) -> None:
    items = [
        {"type": "text", "content": "plain"},
        {"type": "text", "content": "light", "design": {"fg_color": "#fff", "bg_color": "#000"}},
    ]
    results = (await fit_api.batch(items)).data()["results"]
    assert [result["success"] for result in results] == [True, True]
    assert results[0]["data"]["warnings"] == []
    assert codes(results[1]["data"]) == ["INVERTED_COLORS"]
    assert results[1]["data"]["applied"] == {"error_correction": "M", "logo_size": None}


async def test_design_matrix_none_refused_and_every_image_decodes(fit_api: ApiClient) -> None:
    """5 dot styles x logo 0.2/0.3/0.4 x level M/H with a small PNG logo: under auto nothing
    is refused, every image reads back to the exact payload at the level chosen."""
    for dot_style in DOT_STYLES:
        for logo_size in (0.2, 0.3, 0.4):
            for level in ("M", "H"):
                payload = f"https://example.com/matrix/{dot_style}/{logo_size}/{level}"
                body = {
                    "type": "url",
                    "content": payload,
                    "error_correction": level,
                    "design": {
                        "dot_style": dot_style,
                        "corner_style": "extra-rounded",
                        "logo_data": LOGO,
                        "logo_size": logo_size,
                    },
                    "include_image": True,
                }
                response = await fit_api.generate(body)
                case = (dot_style, logo_size, level)
                assert response.status == 200, (case, response.body[:300])
                data = response.data()
                assert data["applied"]["error_correction"] == level, case
                assert data["applied"]["logo_size"] <= logo_size, case
                reduced = data["applied"]["logo_size"] < logo_size
                assert codes(data) == (["LOGO_REDUCED"] if reduced else []), case
                assert decoded(image_of(data)) == [(payload, level)], case
