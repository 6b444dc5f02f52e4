"""png_writer: what Pillow reads back is exactly what was written, on both deflate paths."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from services.render import png_writer
from services.render.png_writer import RowRuns, png_from_gray, png_from_indexed, png_from_row_runs


@pytest.mark.parametrize(
    ("width", "repeat"), [(64, 3), (4096, 90)]
)  # small: one deflate; big: spliced
def test_row_runs_round_trip(width: int, repeat: int) -> None:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, (9, width)).astype(bool)
    counts = np.array([repeat, 0, 1, *([repeat] * 6), 5], dtype=np.int64)
    runs = RowRuns(rows=np.packbits(bits, axis=1)[[0, 1, 2, 3, 4, 5, 6, 7, 8, 0]], counts=counts)
    data = png_from_row_runs(width, runs, bit_depth=1, palette=[(250, 250, 250), (10, 20, 30)])
    image = Image.open(io.BytesIO(data))
    expected = np.repeat(bits[[0, 1, 2, 3, 4, 5, 6, 7, 8, 0]], counts, axis=0)
    assert image.size == (width, int(counts.sum()))
    assert np.array_equal(np.asarray(image) == 1, expected)
    palette = image.getpalette()
    assert palette is not None
    assert palette[:6] == [250, 250, 250, 10, 20, 30]


def test_zero_row_checksum_closed_form() -> None:
    start = zlib.adler32(b"\x00some literal row")
    rows = (b"\x02" + bytes(37)) * 1234
    assert png_writer._adler_after_zero_rows(start, 37, 1234) == zlib.adler32(rows, start)


def test_indexed_and_gray_round_trip() -> None:
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 200, (50, 70)).astype(np.uint8)
    palette = rng.integers(0, 256, (200, 3)).astype(np.uint8)
    image = Image.open(io.BytesIO(png_from_indexed(indices, palette)))
    assert np.array_equal(np.asarray(image), indices)
    assert np.array_equal(np.asarray(image.convert("RGB")), palette[indices])
    gray = rng.integers(0, 256, (31, 17)).astype(np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_from_gray(gray)))), gray)
