"""Human-readable text for barcodes: glyph bitmaps rendered once per (character, size).

The font is the one Pillow ships (``ImageFont.load_default(size=...)``, Aileron, with
tabular digits), so the service needs no font package; drawing pastes cached coverage
bitmaps with numpy instead of calling FreeType for every image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

FONT_FAMILY = "Aileron, 'Helvetica Neue', Arial, sans-serif"


@dataclass(frozen=True, slots=True)
class Glyph:
    """Coverage bitmap (0 none .. 255 full) placed relative to the pen on the baseline."""

    coverage: npt.NDArray[np.uint8]
    left: int  # bitmap's left edge minus pen x
    top: int  # bitmap's top edge minus baseline y (negative: above the baseline)
    advance: float


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=4096)
def glyph(char: str, size: int) -> Glyph:
    """The glyph of ``char`` at ``size`` px (font size, em height)."""
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(char, anchor="ls"))
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(image).text((-left, -top), char, font=font, fill=255, anchor="ls")
    coverage = np.asarray(image, dtype=np.uint8)
    coverage.setflags(write=False)
    return Glyph(coverage=coverage, left=left, top=top, advance=float(font.getlength(char)))


def cap_height(size: int) -> int:
    """Height of a digit above the baseline, in px."""
    return -glyph("0", size).top


@lru_cache(maxsize=4096)
def _ink(char: str, size: int) -> tuple[npt.NDArray[np.uint8] | None, int, int, float]:
    """(ink bitmap 255 - coverage or None for a blank glyph, left, top, advance): what
    draw_text pastes, computed once per glyph instead of once per drawn character."""
    g = glyph(char, size)
    ink = (255 - g.coverage).astype(np.uint8)
    ink.setflags(write=False)
    return (None if bool((ink == 255).all()) else ink), g.left, g.top, g.advance


def text_width(text: str, size: int) -> float:
    """Advance width of ``text`` (no kerning: digits and codes read better without)."""
    return sum(_ink(ch, size)[3] for ch in text)


def draw_text(
    canvas: npt.NDArray[np.uint8], text: str, center_x: float, baseline: int, size: int
) -> None:
    """Darken ``text`` into a grey ``canvas`` (255 white), centred on ``center_x``; clipped.

    A long human-readable line (a GS1-128 element string has ~40 characters) is most of a
    barcode's drawing time, hence the per-glyph work kept to one slice and one minimum.
    """
    height, width = canvas.shape
    pen = center_x - text_width(text, size) / 2
    for ch in text:
        ink, left, top, advance = _ink(ch, size)
        if ink is not None:
            x0 = round(pen) + left
            y0 = baseline + top
            h, w = ink.shape
            if x0 >= 0 and y0 >= 0 and x0 + w <= width and y0 + h <= height:
                region = canvas[y0 : y0 + h, x0 : x0 + w]
                np.minimum(region, ink, out=region)
            else:
                cx0, cy0 = max(0, x0), max(0, y0)
                cx1, cy1 = min(width, x0 + w), min(height, y0 + h)
                if cx0 < cx1 and cy0 < cy1:
                    region = canvas[cy0:cy1, cx0:cx1]
                    np.minimum(region, ink[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)
        pen += advance
