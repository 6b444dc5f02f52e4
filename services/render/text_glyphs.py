"""Human-readable text for barcodes: glyph bitmaps rendered once per (character, size).

The font is the one Pillow ships (``ImageFont.load_default(size=...)``, Aileron, with
tabular digits), so the service needs no font package; drawing pastes cached coverage
bitmaps with numpy instead of calling FreeType for every image.
"""

from __future__ import annotations

import math
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


@dataclass(frozen=True, slots=True)
class _Atlas:
    """The printable ASCII glyphs of one size as equal cells: ``cells[code - 32]`` is the ink
    (255 = none) of a line box ``top`` .. ``top + height`` around the baseline, the glyph's
    left edge at the cell's column 0."""

    top: int
    cells: npt.NDArray[np.uint8]  # (95, height, width)
    lefts: npt.NDArray[np.int64]
    advances: npt.NDArray[np.float64]
    inked: npt.NDArray[np.bool_]
    # Glyphs k apart in a line never share a column: k advances (at least k x the narrowest
    # inked glyph's) minus one px of rounding and the spread of left bearings cover a cell.
    strips: int

    @property
    def height(self) -> int:
        return int(self.cells.shape[1])

    @property
    def width(self) -> int:
        return int(self.cells.shape[2])


@lru_cache(maxsize=64)
def _atlas(size: int) -> _Atlas:
    inks = [_ink(chr(code), size) for code in range(0x20, 0x7F)]
    drawn = [(ink, top) for ink, _, top, _ in inks if ink is not None]
    top = min(t for _, t in drawn)
    bottom = max(t + ink.shape[0] for ink, t in drawn)
    width = max(ink.shape[1] for ink, _ in drawn)
    cells = np.full((len(inks), bottom - top, width), 255, dtype=np.uint8)
    for i, (ink, _, glyph_top, _) in enumerate(inks):
        if ink is not None:
            h, w = ink.shape
            cells[i, glyph_top - top : glyph_top - top + h, :w] = ink
    cells.setflags(write=False)
    lefts = np.array([left for _, left, _, _ in inks], dtype=np.int64)
    advances = np.array([advance for _, _, _, advance in inks], dtype=np.float64)
    inked = np.array([ink is not None for ink, _, _, _ in inks])
    spread = int(lefts[inked].max() - lefts[inked].min())
    narrowest = float(advances[inked].min())
    return _Atlas(
        top=top,
        cells=cells,
        lefts=lefts,
        advances=advances,
        inked=inked,
        strips=math.ceil((width + 1 + spread) / narrowest),
    )


# Below this many characters the per-glyph loop is as fast as composing a line.
_LINE_MIN_CHARS = 8


def draw_text(
    canvas: npt.NDArray[np.uint8], text: str, center_x: float, baseline: int, size: int
) -> None:
    """Darken ``text`` into a grey ``canvas`` (255 white), centred on ``center_x``; clipped.

    The pen starts at ``center_x`` minus half the advance width and moves by each glyph's
    advance; each glyph is drawn at the pen rounded to a pixel plus its left bearing.
    """
    pen = center_x - text_width(text, size) / 2
    if len(text) >= _LINE_MIN_CHARS and _draw_line(canvas, text, pen, baseline, size):
        return
    height, width = canvas.shape
    for ch in text:
        ink, left, top, advance = _ink(ch, size)
        if ink is not None:
            x0, y0 = round(pen) + left, baseline + top
            h, w = ink.shape
            cx0, cy0 = max(0, x0), max(0, y0)
            cx1, cy1 = min(width, x0 + w), min(height, y0 + h)
            if cx0 < cx1 and cy0 < cy1:
                region = canvas[cy0:cy1, cx0:cx1]
                np.minimum(region, ink[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)
        pen += advance


def _draw_line(
    canvas: npt.NDArray[np.uint8], text: str, pen: float, baseline: int, size: int
) -> bool:
    """:func:`draw_text` for a printable ASCII line inside the canvas, in a fixed number of
    numpy calls whatever its length (a GS1-128 element string has ~40 characters; one call
    per glyph was most of such a barcode's drawing time). Glyph i goes into strip i mod K,
    where no two cells overlap (see _Atlas.strips), all strips in one scatter of atlas cells;
    the canvas takes their minimum: the very pixels of the per-glyph loop, since white is the
    minimum's identity and the pen positions are the same sums in the same order. False
    (nothing drawn) when the line does not qualify."""
    if not (text.isascii() and text.isprintable()):
        return False
    atlas = _atlas(size)
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.intp) - 0x20
    pens = np.cumsum(np.concatenate(([pen], atlas.advances[codes][:-1])))
    x0 = np.rint(pens).astype(np.int64) + atlas.lefts[codes]  # rint: round half to even
    keep = atlas.inked[codes]
    codes, x0 = codes[keep], x0[keep]
    if codes.size == 0:
        return True
    cell_h, cell_w = atlas.height, atlas.width
    y_top = baseline + atlas.top
    x_start, x_end = int(x0.min()), int(x0.max()) + cell_w
    height, width = canvas.shape
    if x_start < 0 or x_end > width or y_top < 0 or y_top + cell_h > height:
        return False
    strips = np.full((atlas.strips, cell_h, x_end - x_start), 255, dtype=np.uint8)
    strip_of = (np.arange(codes.size) % atlas.strips)[:, None]
    columns = (x0 - x_start)[:, None] + np.arange(cell_w)
    # Advanced indexes around a slice: the indexed axes come first, (glyph, column, row).
    strips[strip_of, :, columns] = atlas.cells[codes].transpose(0, 2, 1)
    region = canvas[y_top : y_top + cell_h, x_start:x_end]
    np.minimum(region, strips.min(axis=0), out=region)
    return True
