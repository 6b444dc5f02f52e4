"""The cross-reader helper itself: every reader reads a plain code and its inverse, and a
wrong text would be reported."""

from __future__ import annotations

import io

import segno
from PIL import Image, ImageOps

from tests.support.readers import READERS, read_all, wrong_texts

TEXT = "https://qrforge.example/readers"


def _plain_code() -> Image.Image:
    buffer = io.BytesIO()
    segno.make(TEXT, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_every_reader_reads_a_plain_code_and_its_inverse() -> None:
    image = _plain_code()
    for candidate in (image, ImageOps.invert(image.convert("L"))):
        reads = read_all(candidate)
        assert reads == {reader: [TEXT] for reader in READERS}


def test_a_wrong_text_is_reported_per_reader() -> None:
    reads = {"zxing-cpp": [TEXT], "zbar": [TEXT, "other"], "wechat": []}
    assert wrong_texts(reads, TEXT) == {"zbar": ["other"]}
