"""Barcode text: the fast line drawing (one scatter for a whole line) gives exactly the pixels
of drawing each glyph in turn, wherever the line falls (inside, clipped, off the canvas)."""

from __future__ import annotations

import random
import string

import numpy as np
import numpy.typing as npt
import pytest

from services.render.text_glyphs import draw_text, glyph


def _glyph_by_glyph(
    canvas: npt.NDArray[np.uint8], text: str, center_x: float, baseline: int, size: int
) -> None:
    height, width = canvas.shape
    pen = center_x - sum(glyph(ch, size).advance for ch in text) / 2
    for ch in text:
        g = glyph(ch, size)
        x0, y0 = round(pen) + g.left, baseline + g.top
        h, w = g.coverage.shape
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x0 + w), min(height, y0 + h)
        if cx0 < cx1 and cy0 < cy1:
            ink = 255 - g.coverage[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            region = canvas[cy0:cy1, cx0:cx1]
            np.minimum(region, ink, out=region)
        pen += g.advance


@pytest.mark.parametrize("seed", range(4))
def test_lines_are_drawn_as_glyph_by_glyph(seed: int) -> None:
    rng = random.Random(seed)
    pools = [string.printable[:95], "0123456789()", "iil1.:;'", "WWMM@@", " .' "]
    for _ in range(150):
        size = rng.choice([8, 10, 12, 19, 24, 60])
        pool = rng.choice(pools)
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 50)))
        center_x, baseline = rng.uniform(-50, 700), rng.randint(0, 250)
        expected = np.full((240, 640), 255, dtype=np.uint8)
        expected[::7, ::5] = 0  # something under the text: darkening never lightens
        drawn = expected.copy()
        _glyph_by_glyph(expected, text, center_x, baseline, size)
        draw_text(drawn, text, center_x, baseline, size)
        assert np.array_equal(drawn, expected), (size, text, center_x, baseline)


def test_gs1_hri_line() -> None:
    text = "(01)09506000134352(17)261231(10)LOT42"
    expected = np.full((200, 600), 255, dtype=np.uint8)
    drawn = expected.copy()
    _glyph_by_glyph(expected, text, 300.0, 190, 19)
    draw_text(drawn, text, 300.0, 190, 19)
    assert np.array_equal(drawn, expected) and (drawn < 128).any()
