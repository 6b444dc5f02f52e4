"""Decoding what the system produced, the way a phone or a till scanner would (zxing-cpp)."""

from __future__ import annotations

import io

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
