"""bg_color "transparent" (API.md "Designs v1.1"): no background is drawn in PNG, WebP, SVG,
PDF and EPS (JPEG, which has no alpha channel, is drawn on white); every image decodes when
shown on white, and the background pixels really are transparent."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from services.render.qr_images import render_qr
from services.render.specs import QRDesign, QRSpec
from services.runtime.errors import ApiError
from tests.unit.render.conftest import raster

FORMATS = ("png", "svg", "pdf", "eps", "jpeg", "webp")
PAYLOAD = "https://example.com/transparent"
DESIGNS: dict[str, dict[str, object]] = {
    "plain": {},
    "round": {"dot_style": "round", "corner_style": "extra-rounded"},
    "eyes": {"eye_color": "#c80000", "eye_inner_color": "#0000aa", "eye_inner_style": "round"},
}


def _spec(fmt: str, **design: object) -> QRSpec:
    has_logo = design.get("logo") is not None
    return QRSpec(
        payload=PAYLOAD,
        format=fmt,
        size=400,
        error_correction="H" if has_logo else "M",
        design=QRDesign(bg_color="transparent", fg_color="#1a237e", **design),  # type: ignore[arg-type]
    )


def _on_white(image: Image.Image) -> Image.Image:
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image.convert("RGBA"))


def _decoded_on_white(data: bytes, content_type: str) -> list[str]:
    gray = _on_white(raster(data, content_type)).convert("L")
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
    )
    return [result.text for result in results]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_a_transparent_background_decodes_on_white(fmt: str, design: str) -> None:
    image = render_qr(_spec(fmt, **DESIGNS[design]))
    assert _decoded_on_white(image.data, image.content_type) == [PAYLOAD]


@pytest.mark.parametrize("fmt", FORMATS)
def test_with_a_logo(fmt: str, png_logo: bytes) -> None:
    image = render_qr(_spec(fmt, logo=png_logo, logo_size=0.25))
    assert _decoded_on_white(image.data, image.content_type) == [PAYLOAD]


@pytest.mark.parametrize("fmt", ["png", "webp"])
@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_raster_background_pixels_are_transparent(fmt: str, design: str) -> None:
    image = render_qr(_spec(fmt, **DESIGNS[design]))
    rgba = np.asarray(Image.open(io.BytesIO(image.data)).convert("RGBA"))
    assert rgba[0, 0, 3] == 0  # the quiet zone
    assert rgba[:, :, 3].max() == 255  # the modules are opaque
    opaque = rgba[rgba[:, :, 3] == 255][:, :3].astype(int)
    # Opaque pixels are inks, never a background colour.
    assert np.all(opaque.sum(axis=1) < 3 * 200)


def test_svg_and_eps_draw_no_background() -> None:
    svg = render_qr(_spec("svg")).data
    assert b"<rect" not in svg
    eps = render_qr(_spec("eps")).data
    assert b"rectfill" not in eps


def test_pdf_background_is_transparent() -> None:
    document = pypdfium2.PdfDocument(render_qr(_spec("pdf")).data)
    try:
        page = document[0]
        rendered = page.render(scale=1, fill_color=(0, 0, 0, 0), may_draw_forms=True).to_pil()
    finally:
        document.close()
    rgba = np.asarray(rendered.convert("RGBA"))
    assert rgba[0, 0, 3] == 0
    assert rgba[:, :, 3].max() == 255


def test_jpeg_has_no_alpha_so_it_is_drawn_on_white() -> None:
    data = render_qr(_spec("jpeg")).data
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.all(pixels[0, 0] >= 250)
    assert (
        render_qr(_spec("jpeg")).data
        == render_qr(
            QRSpec(
                payload=PAYLOAD,
                format="jpeg",
                size=400,
                design=QRDesign(bg_color="#ffffff", fg_color="#1a237e"),
            )
        ).data
    )


def test_a_light_foreground_is_judged_against_white() -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(
            QRSpec(payload=PAYLOAD, design=QRDesign(bg_color="transparent", fg_color="#cccccc"))
        )
    assert caught.value.code == "UNSCANNABLE_DESIGN"
    assert caught.value.details is not None
    assert caught.value.details["reason"] == "low_contrast"
