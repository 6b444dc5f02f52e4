"""Frames (API.md "Designs v1.1"): a call-to-action band or box around the code in every
format (vectors with the text as outlines); the image stays ``size`` wide and the band adds its height; every framed image
decodes; the frame and text colours are in the pixels; what cannot be drawn is refused."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import zxingcpp
from PIL import Image

from services.render.qr_frame import banner_height, frame_box
from services.render.qr_images import render_qr
from services.render.specs import Frame, Gradient, QRDesign, QRSpec
from services.runtime.errors import ApiError
from tests.unit.render.conftest import decode, raster

RASTERS = ("png", "jpeg", "webp")
VECTORS = ("svg", "pdf", "eps")
STYLES = ("banner-bottom", "banner-top", "box")
PAYLOAD = "https://example.com/frame"
NAVY = (26, 35, 126)
YELLOW = (255, 214, 0)


def _spec(fmt: str, frame: Frame | None, size: int = 400, **design: object) -> QRSpec:
    return QRSpec(
        payload=PAYLOAD,
        format=fmt,
        size=size,
        design=QRDesign(frame=frame, **design),  # type: ignore[arg-type]
    )


def decode_gray(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def _count(pixels: npt.NDArray[np.uint8], color: tuple[int, int, int], tolerance: int = 24) -> int:
    close = np.all(np.abs(pixels[..., :3].astype(int) - np.array(color)) <= tolerance, axis=-1)
    return int(close.sum())


@pytest.mark.parametrize("fmt", RASTERS)
@pytest.mark.parametrize("style", STYLES)
def test_framed_rasters_decode_with_the_frame_and_text_colours(fmt: str, style: str) -> None:
    frame = Frame(style=style, text="SCAN ME", color="#1a237e", text_color="#ffd600")
    image = render_qr(_spec(fmt, frame, dot_style="round"))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    band = banner_height(400)
    assert band == 72
    assert pixels.shape == (400 + band, 400, 3)  # size stays the width; the band adds height
    box = frame_box(style, 400)
    left, top, right, bottom = box.band
    band_pixels = pixels[top:bottom, left:right]
    assert _count(band_pixels, NAVY) > band_pixels.shape[0] * band_pixels.shape[1] // 2
    assert _count(band_pixels, YELLOW) > 100  # the text
    # The code's own quiet zone stays its background, inside the frame.
    assert tuple(pixels[box.code_y + 3, box.code_x + 3]) == (255, 255, 255)


def test_banner_top_puts_the_band_above_and_box_borders_the_code() -> None:
    frame = Frame(style="banner-top", text="", color="#1a237e")
    pixels = np.asarray(raster(render_qr(_spec("png", frame)).data, "image/png").convert("RGB"))
    assert tuple(pixels[10, 200]) == NAVY and tuple(pixels[-10, 200]) == (255, 255, 255)
    boxed = render_qr(_spec("png", Frame(style="box", text="GO", color="#1a237e")))
    pixels = np.asarray(raster(boxed.data, "image/png").convert("RGB"))
    assert tuple(pixels[200, 2]) == NAVY and tuple(pixels[200, -3]) == NAVY
    assert tuple(pixels[2, 200]) == NAVY


def test_defaults_band_in_the_ink_and_readable_text() -> None:
    image = render_qr(_spec("png", Frame(style="banner-bottom", text="SCAN ME")))
    pixels = np.asarray(raster(image.data, "image/png").convert("RGB"))
    band = pixels[400:, :]
    assert _count(band, (0, 0, 0), 0) > band.shape[0] * band.shape[1] // 2
    assert _count(band, (255, 255, 255), 0) > 100


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_a_transparent_background_stays_transparent_and_the_frame_opaque(fmt: str) -> None:
    frame = Frame(style="banner-bottom", text="SCAN ME", color="#1a237e")
    image = render_qr(_spec(fmt, frame, bg_color="transparent"))
    shown = raster(image.data, image.content_type).convert("RGBA")
    on_white = Image.alpha_composite(Image.new("RGBA", shown.size, (255, 255, 255, 255)), shown)
    assert decode_gray(on_white) == [PAYLOAD]
    rgba = np.asarray(shown)
    assert rgba[3, 3, 3] == 0 and rgba[-3, 3, 3] == 255


def test_a_gradient_code_in_a_frame_decodes_and_long_text_fits() -> None:
    frame = Frame(style="box", text="X" * 30, color="#1a237e", text_color="#ffffff")
    gradient = Gradient(type="linear", colors=("#c00000", "#0000aa"))
    image = render_qr(_spec("jpeg", frame, size=1000, gradient=gradient))
    assert decode(image.data, image.content_type) == [PAYLOAD]


def test_none_is_the_plain_code() -> None:
    assert render_qr(_spec("png", Frame(style="none", text="SCAN ME"))) == render_qr(
        _spec("png", None)
    )


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (Frame(style="ribbon"), "design.frame.style"),
        (Frame(style="box", text="X" * 31), "design.frame.text"),
        (Frame(style="box", text="SCAN \u00e9"), "design.frame.text"),
    ],
)
def test_what_cannot_be_drawn_is_refused(frame: Frame, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", frame))
    assert caught.value.code == "INVALID_PARAMETER" and caught.value.field == field


def test_text_too_close_to_the_frame_colour_is_refused() -> None:
    frame = Frame(style="box", text="SCAN ME", color="#1a237e", text_color="#2a337e")
    with pytest.raises(ApiError) as caught:
        render_qr(_spec("png", frame))
    assert caught.value.code == "UNSCANNABLE_DESIGN"
    assert caught.value.field == "design.frame.text_color"


@pytest.mark.parametrize("fmt", VECTORS)
@pytest.mark.parametrize("style", STYLES)
def test_framed_vectors_decode_with_the_frame_and_text_colours(fmt: str, style: str) -> None:
    frame = Frame(style=style, text="SCAN ME", color="#1a237e", text_color="#ffd600")
    gradient = Gradient(type="linear", colors=("#c00000", "#0000aa"))
    image = render_qr(_spec(fmt, frame, dot_style="round", gradient=gradient))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    height, width, _ = pixels.shape
    assert abs(height / width - 472 / 400) < 0.01  # the page is size x (size + band)
    assert _count(pixels, NAVY) > 0.08 * height * width
    assert _count(pixels, YELLOW) > 0.002 * height * width


def test_vector_text_is_outlines_not_a_font() -> None:
    frame = Frame(style="banner-bottom", text="SCAN ME", color="#1a237e", text_color="#ffd600")
    svg = render_qr(_spec("svg", frame)).data
    assert b"<text" not in svg and b'fill="#ffd600" d="M' in svg
    assert b'width="400" height="472"' in svg
    eps = render_qr(_spec("eps", frame)).data
    assert b"findfont" not in eps and b"%%BoundingBox: 0 0 400 472" in eps
    pdf = render_qr(_spec("pdf", frame)).data
    assert b"/Font" not in pdf and b"/MediaBox [0 0 400.00 472.00]" in pdf.replace(b" ]", b"]")


def test_a_logo_in_a_framed_pdf_stays_on_the_code(png_logo: bytes) -> None:
    frame = Frame(style="banner-top", text="SCAN ME", color="#1a237e")
    image = render_qr(
        QRSpec(
            payload=PAYLOAD,
            format="pdf",
            size=400,
            error_correction="H",
            design=QRDesign(logo=png_logo, logo_size=0.2, frame=frame),
        )
    )
    assert decode(image.data, image.content_type) == [PAYLOAD]


def test_a_transparent_background_in_a_framed_jpeg_is_white() -> None:
    frame = Frame(style="banner-top", text="SCAN ME", color="#1a237e")
    image = render_qr(_spec("jpeg", frame, bg_color="transparent"))
    assert decode(image.data, image.content_type) == [PAYLOAD]
    pixels = np.asarray(raster(image.data, image.content_type).convert("RGB"))
    assert _count(pixels[-5:, :], (255, 255, 255), 8) == 5 * 400  # the quiet zone


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_box_too_small_for_the_code_is_refused_naming_the_size_asked(fmt: str) -> None:
    payload = "https://example.com/" + "x" * 500  # version 18: 89 modules + quiet zone
    spec = QRSpec(payload=payload, format=fmt, size=100, design=QRDesign(frame=Frame(style="box")))
    with pytest.raises(ApiError) as caught:
        render_qr(spec)
    assert caught.value.field == "size" and "size 100 px leaves 92 px" in caught.value.message


def test_a_boxed_design_the_reduced_check_misreads_is_read_at_full_resolution() -> None:
    """At 3 px per module the box's dark border upset zxing's local binariser for this design
    (radial gradient, eye colour, 1024 px, version 10) and it was refused although the file
    decodes; the framed file is now read again at full resolution before a refusal."""
    spec = QRSpec(
        payload="https://qrforge.example/campaigns/spring-2026/landing?utm_source=poster"
        "&utm_medium=print&utm_campaign=launch&ref=" + "a1b2c3d4" * 4,
        size=1024,
        error_correction="H",
        design=QRDesign(
            corner_style="extra-rounded",
            eye_color="#b00020",
            gradient=Gradient("radial", ("#000000", "#b00020", "#0d47a1")),
            frame=Frame("box", "SCAN ME"),
        ),
    )
    image = render_qr(spec)
    assert decode(image.data, image.content_type) == [spec.payload]
