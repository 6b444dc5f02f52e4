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


@lru_cache(maxsize=64)
def _ascii_advances(size: int) -> dict[str, float]:
    return {chr(code): _ink(chr(code), size)[3] for code in range(0x20, 0x7F)}


def text_width(text: str, size: int) -> float:
    """Advance width of ``text`` (no kerning: digits and codes read better without)."""
    advances = _ascii_advances(size)
    if text.isascii() and text.isprintable():
        return sum(map(advances.__getitem__, text))
    return sum(_ink(ch, size)[3] for ch in text)


@lru_cache(maxsize=64)
def _line_box(size: int) -> tuple[int, int, npt.NDArray[np.uint8]]:
    """(top, bottom) of every printable ASCII glyph at ``size`` relative to the baseline, and a
    white block of that height to slice gaps from."""
    inks = [_ink(chr(code), size) for code in range(0x20, 0x7F)]
    top = min(t for ink, _, t, _ in inks if ink is not None)
    bottom = max(t + ink.shape[0] for ink, _, t, _ in inks if ink is not None)
    blank = np.full((bottom - top, 4 * size + 16), 255, dtype=np.uint8)
    blank.setflags(write=False)
    return top, bottom, blank


@lru_cache(maxsize=4096)
def _line_ink(char: str, size: int) -> npt.NDArray[np.uint8] | None:
    """The glyph's ink padded with white to the line box's height."""
    ink, _, top, _ = _ink(char, size)
    if ink is None:
        return None
    box_top, box_bottom, _ = _line_box(size)
    padded = np.full((box_bottom - box_top, ink.shape[1]), 255, dtype=np.uint8)
    padded[top - box_top : top - box_top + ink.shape[0]] = ink
    padded.setflags(write=False)
    return padded


# Below this many glyphs the per-glyph loop is as fast as composing a line.
_LINE_MIN_GLYPHS = 8


def draw_text(
    canvas: npt.NDArray[np.uint8], text: str, center_x: float, baseline: int, size: int
) -> None:
    """Darken ``text`` into a grey ``canvas`` (255 white), centred on ``center_x``; clipped.

    A long human-readable line (a GS1-128 element string has ~40 characters) was most of a
    barcode's drawing time, one numpy call per glyph. A line inside the canvas is composed
    instead as two strips, the even and the odd glyphs each joined by one concatenation
    (neighbouring glyphs may overlap by a pixel; every other glyph never does), then darkened
    in with one minimum: the same pixels, since white is the minimum's identity.
    """
    height, width = canvas.shape
    pen = center_x - text_width(text, size) / 2
    placed: list[tuple[int, int, npt.NDArray[np.uint8], str]] = []  # x0, y0, ink, char
    for ch in text:
        ink, left, top, advance = _ink(ch, size)
        if ink is not None:
            placed.append((round(pen) + left, baseline + top, ink, ch))
        pen += advance
    if len(placed) >= _LINE_MIN_GLYPHS and _draw_line(canvas, placed, baseline, size):
        return
    for x0, y0, ink, _ in placed:
        h, w = ink.shape
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(width, x0 + w), min(height, y0 + h)
        if cx0 < cx1 and cy0 < cy1:
            region = canvas[cy0:cy1, cx0:cx1]
            np.minimum(region, ink[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)


def _draw_line(
    canvas: npt.NDArray[np.uint8],
    placed: list[tuple[int, int, npt.NDArray[np.uint8], str]],
    baseline: int,
    size: int,
) -> bool:
    """The two-strip drawing of :func:`draw_text`; False (nothing drawn) when the line leaves
    the canvas or glyphs of one strip would overlap."""
    box_top, box_bottom, blank = _line_box(size)
    height, width = canvas.shape
    x_start = placed[0][0]
    x_end = max(x0 + ink.shape[1] for x0, _, ink, _ in placed)
    y_top, y_bottom = baseline + box_top, baseline + box_bottom
    if x_start < 0 or x_end > width or y_top < 0 or y_bottom > height:
        return False
    strips = []
    for parity in (0, 1):
        pieces: list[npt.NDArray[np.uint8]] = []
        x = x_start
        for x0, _, _, ch in placed[parity::2]:
            gap = x0 - x
            if gap < 0 or gap > blank.shape[1]:
                return False
            if gap:
                pieces.append(blank[:, :gap])
            ink = _line_ink(ch, size)
            assert ink is not None
            pieces.append(ink)
            x = x0 + ink.shape[1]
        if x < x_end:
            pieces.append(blank[:, : x_end - x])
        strips.append(np.concatenate(pieces, axis=1))
    region = canvas[y_top:y_bottom, x_start:x_end]
    np.minimum(region, strips[0], out=region)
    np.minimum(region, strips[1], out=region)
    return True
