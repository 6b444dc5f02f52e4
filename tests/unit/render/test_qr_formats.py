"""JPEG, WebP and EPS (API.md "Designs v1.1"): every format × plain, styled and logo designs is
decoded back from its own file (JPEG/WebP through Pillow, EPS through Ghostscript)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from services.render import qr_images
from services.render.render_jobs import QRDesign, QRSpec, render_qr
from services.runtime.errors import ApiError
from tests.support.decoding import rasterize_eps
from tests.unit.render.conftest import decode, pixels

URL = "https://qrforge.example/p/0042?utm_source=test"
NEW_FORMATS = {"jpeg": "image/jpeg", "webp": "image/webp", "eps": "application/postscript"}
STYLED = QRDesign(fg_color="#1a237e", dot_style="classy-rounded", corner_style="extra-rounded")


def _designs(png_logo: bytes, wide_jpeg_logo: bytes, svg_logo: bytes) -> dict[str, QRDesign]:
    return {
        "plain": QRDesign(),
        "styled": STYLED,
        "dots": QRDesign(dot_style="dots", corner_style="round", bg_color="#fff8e1"),
        "png-logo": QRDesign(dot_style="round", logo=png_logo, logo_size=0.25),
        "jpeg-logo": QRDesign(logo=wide_jpeg_logo, logo_size=0.2),
        "svg-logo": QRDesign(fg_color="#2e7d32", corner_style="round", logo=svg_logo),
    }


@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
@pytest.mark.parametrize(
    "design_name", ["plain", "styled", "dots", "png-logo", "jpeg-logo", "svg-logo"]
)
def test_every_new_format_and_design_decodes(
    fmt: str, design_name: str, png_logo: bytes, wide_jpeg_logo: bytes, svg_logo: bytes
) -> None:
    design = _designs(png_logo, wide_jpeg_logo, svg_logo)[design_name]
    image = render_qr(QRSpec(URL, format=fmt, error_correction="H", design=design))
    assert image.content_type == NEW_FORMATS[fmt]
    assert decode(image.data, image.content_type) == [URL]


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
@pytest.mark.parametrize("size", [100, 333, 2048])
def test_rasters_are_exactly_size_by_size(fmt: str, size: int) -> None:
    design = QRDesign(dot_style="round", corner_style="round", fg_color="#b71c1c")
    image = render_qr(QRSpec(URL, format=fmt, size=size, design=design))
    assert Image.open(io.BytesIO(image.data)).size == (size, size)
    assert decode(image.data, image.content_type) == [URL]


def _outcome(spec: QRSpec) -> str:
    try:
        image = render_qr(spec)
    except ApiError as error:
        return error.code
    assert decode(image.data, image.content_type) == [URL]
    return "ok"


@pytest.mark.parametrize("size", [100, 120, 140, 200])
def test_jpeg_and_webp_are_accepted_exactly_where_png_is(size: int) -> None:
    """At 2-4 px per module (where small styled codes start to fail), encoding as JPEG or WebP
    refuses nothing the PNG accepts, and accepts nothing the PNG refuses."""
    for design in (QRDesign(), STYLED, QRDesign(dot_style="dots", fg_color="#2e7d32")):
        outcomes = {
            fmt: _outcome(QRSpec(URL, format=fmt, size=size, design=design))
            for fmt in ("png", "jpeg", "webp")
        }
        assert len(set(outcomes.values())) == 1, (design, outcomes)


@pytest.mark.parametrize("design", [QRDesign(), STYLED], ids=["plain", "styled"])
def test_webp_holds_the_pngs_very_pixels(design: QRDesign) -> None:
    """Same raster as the PNG (plain or styled), stored losslessly."""
    png = render_qr(QRSpec(URL, design=design))
    webp = render_qr(QRSpec(URL, format="webp", design=design))
    assert np.array_equal(pixels(webp.data), pixels(png.data))


@pytest.mark.parametrize("design", [QRDesign(), STYLED], ids=["plain", "styled"])
def test_jpeg_is_the_pngs_raster_at_full_chroma(design: QRDesign) -> None:
    png = render_qr(QRSpec(URL, design=design))
    jpeg = render_qr(QRSpec(URL, format="jpeg", design=design))
    with Image.open(io.BytesIO(jpeg.data)) as opened:
        assert isinstance(opened, JpegImagePlugin.JpegImageFile)
        assert JpegImagePlugin.get_sampling(opened) == 0  # 4:4:4, no chroma subsampling
    difference = np.abs(pixels(jpeg.data).astype(int) - pixels(png.data).astype(int))
    assert difference.mean() < 3  # quality 90: edge ringing only


@pytest.mark.parametrize("fmt", sorted(NEW_FORMATS))
def test_output_is_deterministic(fmt: str, png_logo: bytes) -> None:
    """Strong ETags hash the request: the same request must give the same bytes."""
    spec = QRSpec(URL, format=fmt, error_correction="H", design=QRDesign(logo=png_logo))
    assert render_qr(spec).data == render_qr(spec).data


def test_jpeg_is_verified_on_the_encoded_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decode check reads the bytes sent: an encoder that loses the code is caught."""

    def blank_jpeg(canvas: np.ndarray, palette: np.ndarray, fmt: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", canvas.shape[::-1], "white").save(buffer, format="JPEG")
        return buffer.getvalue()

    monkeypatch.setattr(qr_images, "encode_raster", blank_jpeg)
    with pytest.raises(ApiError) as info:
        render_qr(QRSpec(URL, format="jpeg"))
    assert info.value.code == "UNSCANNABLE_DESIGN"


@pytest.mark.parametrize("size", [100, 512, 1000])
def test_eps_bounding_box_is_the_size(size: int) -> None:
    image = render_qr(QRSpec(URL, format="eps", size=size, design=STYLED))
    text = image.data.decode("ascii")
    assert text.startswith("%!PS-Adobe-3.0 EPSF-3.0\n")
    assert re.search(r"^%%BoundingBox: (.+)$", text, re.M).group(1) == f"0 0 {size} {size}"  # type: ignore[union-attr]
    assert text.rstrip().endswith("%%EOF")
    # At 72 dpi a point is a pixel: Ghostscript's page, cropped to the box, is size x size.
    page = rasterize_eps(image.data, dpi=72)
    assert page.size == (size, size)
    # The symbol (quiet zone of 4 modules) fills the box, centred: not shifted, not clipped.
    dark = np.asarray(page.convert("L")) < 128
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    module = size / (17 + 4 * image.version + 8)
    for first, last in ((rows[0], rows[-1]), (cols[0], cols[-1])):
        assert abs(first - 4 * module) <= 1.5
        assert abs((size - 1 - last) - 4 * module) <= 1.5


def test_eps_is_vector_and_declares_its_language_level(png_logo: bytes) -> None:
    plain = render_qr(QRSpec(URL, format="eps")).data.decode("ascii")
    assert "%%LanguageLevel: 2" in plain
    assert " image\n" not in plain  # modules are paths, never a raster
    with_logo = render_qr(QRSpec(URL, format="eps", design=QRDesign(logo=png_logo))).data
    text = with_logo.decode("ascii")
    assert "%%LanguageLevel: 3" in text
    assert text.count(" image\n") == 1  # the logo alone
    # No line of the embedded data can pass for a DSC comment.
    body = text.split("%%EndComments\n", 1)[1]
    assert all(
        line.startswith(("%%BeginProlog", "%%EndProlog", "%%Page:", "%%Trailer", "%%EOF"))
        for line in body.splitlines()
        if line.startswith("%")
    )


def test_eps_of_a_large_version_decodes() -> None:
    payload = "x" * 2000
    image = render_qr(QRSpec(payload, format="eps", size=1200, error_correction="L", design=STYLED))
    assert image.version >= 30
    assert decode(image.data, image.content_type) == [payload]
