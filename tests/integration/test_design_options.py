"""Design options of API.md "Designs v1.1" through the real system: every image is fetched
as a client gets it, decoded back to what was encoded, and its pixels searched for the colours
the design asked for."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pypdfium2
import pytest
from PIL import Image

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr_image, raster_image

URL = "https://example.com/design-options"
FORMATS = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "eps": "application/postscript",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
RING, EYE = (200, 0, 0), (0, 0, 170)
EYES = {"eye_color": "#c80000", "eye_inner_color": "#0000aa", "eye_inner_style": "round"}


def _share_of(data: bytes, content_type: str, color: tuple[int, int, int]) -> float:
    """Share of the image's pixels within a few levels of ``color``."""
    pixels = np.asarray(raster_image(data, content_type).convert("RGB"), dtype=np.int16)
    close = np.all(np.abs(pixels - np.array(color, dtype=np.int16)) <= 40, axis=2)
    return float(close.mean())


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_eye_colours_and_style_on_a_stored_code(api: ApiClient, fmt: str) -> None:
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": EYES}
    created = (await api.generate(body)).data()
    for key, value in EYES.items():
        assert created["design"][key] == value
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    content_type = FORMATS[fmt]
    assert decode_single_qr_image(image.body, content_type) == URL
    # Three 7x7 rings of 24 modules and three 3x3 eyes (a circle: ~7 modules) in ~33x33.
    assert _share_of(image.body, content_type, RING) > 0.02
    assert _share_of(image.body, content_type, EYE) > 0.005


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_eye_options_in_the_embed_query(api: ApiClient, fmt: str) -> None:
    params = {
        "type": "url",
        "content": URL,
        "format": fmt,
        "eye_color": "c80000",
        "eye_inner_color": "#0000aa",
        "eye_inner_style": "square",
    }
    response = await api.request("GET", "/v1/qrcodes/generate", params=params)
    assert response.status == 200, response.text
    content_type = FORMATS[fmt]
    assert response.headers["Content-Type"] == content_type
    assert decode_single_qr_image(response.body, content_type) == URL
    assert _share_of(response.body, content_type, RING) > 0.02
    assert _share_of(response.body, content_type, EYE) > 0.005


@pytest.mark.parametrize("field", ["eye_color", "eye_inner_color"])
async def test_a_light_eye_colour_is_refused_by_name(api: ApiClient, field: str) -> None:
    refused = await api.generate({"type": "url", "content": URL, "design": {field: "#dddddd"}})
    assert refused.status == 422, refused.text
    assert refused.error_code == "UNSCANNABLE_DESIGN"
    error = refused.envelope["error"]
    assert "#dddddd" in error["message"] and "3:1 minimum" in error["message"]
    assert error["details"]["field"] == f"design.{field}"


async def test_a_bad_eye_inner_style_is_invalid(api: ApiClient) -> None:
    refused = await api.generate(
        {"type": "url", "content": URL, "design": {"eye_inner_style": "star"}}
    )
    assert refused.status == 400, refused.text
    assert refused.error_code == "INVALID_PARAMETER"


def _decoded_on_white(data: bytes, content_type: str) -> str:
    """The image as shown on a white page (a transparent background lets the page through)."""
    image = raster_image(data, content_type).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    buffer = io.BytesIO()
    Image.alpha_composite(white, image).convert("RGB").save(buffer, format="PNG")
    return decode_single_qr_image(buffer.getvalue(), "image/png")


def _corner_alpha(data: bytes, content_type: str) -> int:
    if content_type == "application/pdf":
        document = pypdfium2.PdfDocument(data)
        try:
            image = document[0].render(fill_color=(0, 0, 0, 0)).to_pil()
        finally:
            document.close()
    else:
        image = raster_image(data, content_type)
    alpha: int = image.convert("RGBA").getpixel((0, 0))[3]
    return alpha


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_a_transparent_background_on_a_stored_code(api: ApiClient, fmt: str) -> None:
    design = {"bg_color": "transparent", "fg_color": "#1a237e", "dot_style": "round", **EYES}
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": design}
    created = (await api.generate(body)).data()
    assert created["design"]["bg_color"] == "transparent"
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    content_type = FORMATS[fmt]
    assert _decoded_on_white(image.body, content_type) == URL
    if fmt in ("png", "webp", "pdf"):
        assert _corner_alpha(image.body, content_type) == 0
    elif fmt == "jpeg":  # no alpha channel: drawn on white
        gray = np.asarray(raster_image(image.body, content_type).convert("L"))
        assert gray[0, 0] >= 250
    elif fmt == "svg":
        assert b"<rect" not in image.body
    else:
        assert b"rectfill" not in image.body


@pytest.mark.parametrize("fmt", ["png", "webp", "svg"])
async def test_a_transparent_background_in_the_embed_query(api: ApiClient, fmt: str) -> None:
    params = {"type": "text", "content": "see-through", "format": fmt, "bg_color": "transparent"}
    response = await api.request("GET", "/v1/qrcodes/generate", params=params)
    assert response.status == 200, response.text
    assert _decoded_on_white(response.body, FORMATS[fmt]) == "see-through"
    if fmt == "svg":
        assert b"<rect" not in response.body
    else:
        assert _corner_alpha(response.body, FORMATS[fmt]) == 0


async def test_a_light_foreground_on_transparent_is_judged_against_white(api: ApiClient) -> None:
    refused = await api.generate(
        {"type": "url", "content": URL, "design": {"bg_color": "transparent", "fg_color": "#ddd"}}
    )
    assert refused.status == 422, refused.text
    assert refused.error_code == "UNSCANNABLE_DESIGN"


def _left_right_inks(
    data: bytes, content_type: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean module colour in the left and right quarters of the symbol's middle band."""
    pixels = np.asarray(raster_image(data, content_type).convert("RGB"), dtype=np.float64)
    side = pixels.shape[0]

    def mean(cols: slice) -> npt.NDArray[np.float64]:
        region = pixels[side // 8 : side * 7 // 8, cols].reshape(-1, 3)
        ink: npt.NDArray[np.float64] = region[region.sum(axis=1) < 450].mean(axis=0)
        return ink

    return mean(slice(side // 8, side // 4)), mean(slice(side * 3 // 4, side * 7 // 8))


GRADIENT = {"type": "linear", "colors": ["#c80000", "#0000aa"], "angle": 0}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_a_gradient_on_a_stored_code(api: ApiClient, fmt: str) -> None:
    design = {"gradient": GRADIENT, "dot_style": "round"}
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": design}
    created = (await api.generate(body)).data()
    assert created["design"]["gradient"] == GRADIENT
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    content_type = FORMATS[fmt]
    assert decode_single_qr_image(image.body, content_type) == URL
    left, right = _left_right_inks(image.body, content_type)
    assert left[0] > left[2] + 60  # red on the left
    assert right[2] > right[0] + 60  # blue on the right


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
async def test_a_gradient_in_the_embed_query(api: ApiClient, fmt: str) -> None:
    params = {
        "type": "url",
        "content": URL,
        "format": fmt,
        "gradient": "linear",
        "gradient_colors": "c80000,0000aa",
        "gradient_angle": "0",
    }
    response = await api.request("GET", "/v1/qrcodes/generate", params=params)
    assert response.status == 200, response.text
    assert decode_single_qr_image(response.body, FORMATS[fmt]) == URL
    left, right = _left_right_inks(response.body, FORMATS[fmt])
    assert left[0] > left[2] + 60 and right[2] > right[0] + 60


async def test_a_light_gradient_colour_is_refused_by_name(api: ApiClient) -> None:
    refused = await api.generate(
        {
            "type": "url",
            "content": URL,
            "design": {"gradient": {"colors": ["#1a237e", "#f5f5f5"]}},
        }
    )
    assert refused.status == 422, refused.text
    assert refused.error_code == "UNSCANNABLE_DESIGN"
    error = refused.envelope["error"]
    assert "#f5f5f5" in error["message"]
    assert error["details"]["field"] == "design.gradient.colors[1]"


ALL_NEW = {
    "bg_color": "transparent",
    "gradient": {"type": "radial", "colors": ["#0000aa", "#c80000"], "angle": 0},
    "eye_color": "#006400",
    "eye_inner_style": "round",
    "dot_style": "classy",
}


async def test_a_saved_design_with_every_new_option_draws_them_on_every_path(
    api: ApiClient,
) -> None:
    saved = (await api.create_design({"name": "All new", "design": ALL_NEW})).data(201)
    for key, value in ALL_NEW.items():
        assert saved["design"][key] == value
    design_id = saved["design_id"]
    created = (
        await api.generate({"type": "url", "content": URL, "format": "png", "design_id": design_id})
    ).data()
    assert created["design"]["gradient"] == ALL_NEW["gradient"]
    image = await api.fetch(created["image_url"])
    assert _decoded_on_white(image.body, "image/png") == URL
    assert _corner_alpha(image.body, "image/png") == 0
    assert _share_of(image.body, "image/png", (0, 100, 0)) > 0.02  # the eye rings
    # Download in the vector formats redraws the stored design.
    for fmt in ("svg", "pdf", "eps"):
        download = await api.download(created["qr_id"], format=fmt)
        assert download.status == 200, download.text
        assert _decoded_on_white(download.body, FORMATS[fmt]) == URL
    embed = await api.request(
        "GET",
        "/v1/qrcodes/generate",
        params={"type": "text", "content": "saved", "design_id": design_id, "format": "webp"},
    )
    assert embed.status == 200, embed.text
    assert _decoded_on_white(embed.body, "image/webp") == "saved"
    assert _corner_alpha(embed.body, "image/webp") == 0


async def test_a_dynamic_code_keeps_the_new_options(api: ApiClient) -> None:
    created = (
        await api.create_dynamic(
            {"name": "dyn", "destination_url": URL, "format": "svg", "design": ALL_NEW}
        )
    ).data(201)
    assert created["design"]["eye_color"] == "#006400"
    fetched = (await api.get_code(created["qr_id"])).data()
    assert fetched["design"]["gradient"] == ALL_NEW["gradient"]
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    assert b"<radialGradient" in image.body and b"<rect" not in image.body
    assert _decoded_on_white(image.body, "image/svg+xml") == created["short_url"]
