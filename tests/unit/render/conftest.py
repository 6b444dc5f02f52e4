"""Decoders for the render tests: every image is read back from its actual file bytes."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pypdfium2
import pytest
import resvg_py
import zxingcpp
from PIL import Image, ImageDraw

from tests.support.decoding import rasterize_eps


def raster(data: bytes, content_type: str) -> Image.Image:
    """The image a viewer would show: PNG, JPEG and WebP as they are, SVG through resvg, PDF
    through PDFium, EPS through Ghostscript."""
    if content_type in ("image/png", "image/jpeg", "image/webp"):
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    if content_type == "image/svg+xml":
        png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), background="white")
        return Image.open(io.BytesIO(png))
    if content_type == "application/postscript":
        return rasterize_eps(data)
    assert content_type == "application/pdf"
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        width, _ = page.get_size()
        scale = max(1.0, 600 / width)
        rendered: Image.Image = page.render(scale=scale).to_pil()
        return rendered
    finally:
        document.close()


def decode(
    data: bytes, content_type: str, formats: zxingcpp.BarcodeFormat = zxingcpp.BarcodeFormat.QRCode
) -> list[str]:
    """Texts zxing-cpp reads from the rendered file (plain text mode: exact characters)."""
    image = raster(data, content_type).convert("L")
    return [
        r.text
        for r in zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats([formats]), text_mode=zxingcpp.TextMode.Plain
        )
    ]


def pixels(data: bytes) -> npt.NDArray[np.uint8]:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _logo(size: tuple[int, int], fmt: str) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size[0] - 4, size[1] - 4), fill=(220, 40, 60, 255))
    draw.rectangle(
        (size[0] // 3, size[1] // 3, 2 * size[0] // 3, 2 * size[1] // 3), fill=(20, 90, 200, 255)
    )
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format=fmt) if fmt == "JPEG" else image.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="session")
def png_logo() -> bytes:
    return _logo((160, 160), "PNG")


@pytest.fixture(scope="session")
def wide_jpeg_logo() -> bytes:
    return _logo((240, 120), "JPEG")


@pytest.fixture(scope="session")
def svg_logo() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        b'<circle cx="50" cy="50" r="46" fill="#0a7"/><rect x="30" y="30" width="40" height="40" '
        b'fill="#fff"/></svg>'
    )
