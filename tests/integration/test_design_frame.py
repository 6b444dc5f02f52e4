"""design.frame through the gateway (API.md "Designs v1.1"): a stored code in every format, a
dynamic code, a saved design and the embed query; every image is decoded, is ``size`` wide
and as high plus the band, and shows the frame and text colours; the record
reports ``width`` and ``height`` for raster formats; what cannot be drawn is refused by
field."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr_image, raster_image

URL = "https://example.com/frame"
RASTERS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
VECTORS = {"svg": "image/svg+xml", "pdf": "application/pdf", "eps": "application/postscript"}
NAVY, YELLOW = (26, 35, 126), (255, 214, 0)
FRAME = {"style": "banner-bottom", "text": "SCAN ME", "color": "#1a237e", "text_color": "#ffd600"}


def _share_of(data: bytes, color: tuple[int, int, int]) -> float:
    return _share(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16), color)


def _share(pixels: npt.NDArray[np.int16], color: tuple[int, int, int]) -> float:
    close = np.all(np.abs(pixels - np.array(color, dtype=np.int16)) <= 30, axis=2)
    return float(close.mean())


def _size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _check_framed(data: bytes, content_type: str, text: str, width: int, height: int) -> None:
    assert decode_single_qr_image(data, content_type) == text
    assert _size_of(data) == (width, height)
    assert _share_of(data, NAVY) > 0.08  # the band: 72 of 472 rows, less its text
    assert _share_of(data, YELLOW) > 0.002  # the text


@pytest.mark.parametrize("fmt", sorted(VECTORS))
@pytest.mark.parametrize("style", ["banner-bottom", "banner-top", "box"])
async def test_a_framed_vector_code(api: ApiClient, fmt: str, style: str) -> None:
    frame = {**FRAME, "style": style}
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": {"frame": frame}}
    created = (await api.generate(body)).data()
    assert created["design"]["frame"] == frame
    assert "width" not in created and "height" not in created  # not pixels
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    assert decode_single_qr_image(image.body, VECTORS[fmt]) == URL
    pixels = np.asarray(raster_image(image.body, VECTORS[fmt]).convert("RGB"), dtype=np.int16)
    assert abs(pixels.shape[0] / pixels.shape[1] - 472 / 400) < 0.01
    assert _share(pixels, NAVY) > 0.08 and _share(pixels, YELLOW) > 0.002
    download = await api.download(created["qr_id"], format="png")
    _check_framed(download.body, "image/png", URL, 400, 472)


@pytest.mark.parametrize("fmt", sorted(RASTERS))
@pytest.mark.parametrize("style", ["banner-bottom", "banner-top", "box"])
async def test_a_framed_stored_code(api: ApiClient, fmt: str, style: str) -> None:
    frame = {**FRAME, "style": style}
    body = {"type": "url", "content": URL, "format": fmt, "size": 400, "design": {"frame": frame}}
    created = (await api.generate(body)).data()
    assert created["design"]["frame"] == frame
    assert (created["width"], created["height"]) == (400, 472)
    image = await api.fetch(created["image_url"])
    assert image.status == 200, image.text
    _check_framed(image.body, RASTERS[fmt], URL, 400, 472)
    bytes_response = await api.generate(body, accept=RASTERS[fmt])
    assert bytes_response.status == 200, bytes_response.text
    _check_framed(bytes_response.body, RASTERS[fmt], URL, 400, 472)


async def test_unframed_rasters_report_a_square_and_vectors_no_pixels(api: ApiClient) -> None:
    png = (await api.generate({"type": "url", "content": URL, "size": 300})).data()
    assert (png["width"], png["height"]) == (300, 300)
    svg = (await api.generate({"type": "url", "content": URL, "format": "svg"})).data()
    assert "width" not in svg and "height" not in svg


async def test_a_dynamic_code_and_a_saved_design_keep_the_frame(api: ApiClient) -> None:
    created = (
        await api.create_dynamic(
            {"name": "framed", "destination_url": URL, "size": 500, "design": {"frame": FRAME}}
        )
    ).data(201)
    fetched = (await api.get_code(created["qr_id"])).data()
    assert fetched["design"]["frame"] == FRAME
    assert (fetched["width"], fetched["height"]) == (500, 590)
    image = await api.fetch(created["image_url"])
    _check_framed(image.body, "image/png", created["short_url"], 500, 590)

    saved = (await api.create_design({"name": "Framed", "design": {"frame": FRAME}})).data(201)
    used = (
        await api.generate(
            {"type": "text", "content": "saved", "design_id": saved["design_id"], "size": 400}
        )
    ).data()
    assert used["design"]["frame"] == FRAME and used["height"] == 472
    image = await api.fetch(used["image_url"])
    _check_framed(image.body, "image/png", "saved", 400, 472)


@pytest.mark.parametrize("fmt", sorted(RASTERS))
async def test_a_frame_in_the_embed_query(api: ApiClient, fmt: str) -> None:
    params = {
        "type": "text",
        "content": "embedded",
        "format": fmt,
        "size": "400",
        "frame": "box",
        "frame_text": "SCAN ME",
        "frame_color": "1a237e",
        "frame_text_color": "ffd600",
    }
    response = await api.request("GET", "/v1/qrcodes/generate", params=params)
    assert response.status == 200, response.text
    assert response.headers["Content-Type"] == RASTERS[fmt]
    _check_framed(response.body, RASTERS[fmt], "embedded", 400, 472)


@pytest.mark.parametrize(
    ("frame", "fmt", "status", "code", "field"),
    [
        ({"text": "X" * 31}, "png", 400, "INVALID_PARAMETER", "design.frame.text"),
        ({"text": "SCAN MÉ"}, "png", 400, "INVALID_PARAMETER", "design.frame.text"),
        ({"style": "ribbon"}, "png", 400, "INVALID_PARAMETER", "design.frame.style"),
        ({"color": "navy"}, "png", 400, "INVALID_COLOR", "design.frame.color"),
        (
            {"text": "SCAN ME", "color": "#1a237e", "text_color": "#2a3380"},
            "png",
            422,
            "UNSCANNABLE_DESIGN",
            "design.frame.text_color",
        ),
    ],
)
async def test_frames_that_cannot_be_drawn_are_refused(
    api: ApiClient, frame: dict[str, str], fmt: str, status: int, code: str, field: str
) -> None:
    body = {"type": "url", "content": URL, "format": fmt, "design": {"frame": frame}}
    refused = await api.generate(body)
    assert refused.status == status, refused.text
    error = refused.envelope["error"]
    assert (error["code"], error["details"]["field"]) == (code, field)
