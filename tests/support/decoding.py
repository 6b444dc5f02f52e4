"""Decoding what the system produced, the way a phone or a till scanner would (zxing-cpp)."""

from __future__ import annotations

import io
import subprocess
import tempfile

import pypdfium2
import resvg_py
import zxingcpp
from PIL import Image


def decode_png(data: bytes, formats: zxingcpp.BarcodeFormat | None = None) -> list[str]:
    image = Image.open(io.BytesIO(data))
    image.load()
    gray = image.convert("L")
    if formats is None:
        results = zxingcpp.read_barcodes(gray)
    else:
        results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats([formats]))
    return [result.text for result in results]


def decode_single_qr(data: bytes) -> str:
    texts = decode_png(data, zxingcpp.BarcodeFormat.QRCode)
    assert len(texts) == 1, f"expected one QR code, decoded {texts!r}"
    return texts[0]


def rasterize_eps(data: bytes, dpi: int = 150) -> Image.Image:
    """An EPS as a print RIP would show it: Ghostscript (Debian ``ghostscript``), the page
    cropped to the file's own %%BoundingBox; any PostScript error fails the test."""
    with tempfile.NamedTemporaryFile(suffix=".eps") as file:
        file.write(data)
        file.flush()
        done = subprocess.run(
            ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", f"-r{dpi}",
             "-dEPSCrop", "-sOutputFile=-", file.name],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
    assert not done.stderr, done.stderr.decode(errors="replace")
    image = Image.open(io.BytesIO(done.stdout))
    image.load()
    return image


def raster_image(data: bytes, content_type: str) -> Image.Image:
    """The image a viewer shows for any format QRForge serves: rasters as they are, SVG
    through resvg, PDF through PDFium, EPS through Ghostscript."""
    if content_type == "image/svg+xml":
        png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), background="white")
        data = bytes(png)
    elif content_type == "application/pdf":
        document = pypdfium2.PdfDocument(data)
        try:
            image: Image.Image = document[0].render(scale=2).to_pil()
        finally:
            document.close()
        return image
    elif content_type == "application/postscript":
        return rasterize_eps(data)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def decode_single_qr_image(data: bytes, content_type: str) -> str:
    """The one QR code's text in an image of any served format (see :func:`raster_image`)."""
    gray = raster_image(data, content_type).convert("L")
    texts = [
        result.text
        for result in zxingcpp.read_barcodes(
            gray, formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode])
        )
    ]
    assert len(texts) == 1, f"expected one QR code, decoded {texts!r}"
    return texts[0]
