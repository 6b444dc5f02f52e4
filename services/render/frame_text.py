"""A frame's text as outlines for the vector formats: the glyphs of Pillow's built-in font
(Aileron, the one the raster frame draws with), read by fontTools, laid out with their
advances (no kerning) and converted to cubic Bézier contours in image pixels (y down).

Outlines keep SVG, PDF and EPS vector without embedding a font. The size rule is the raster
frame's (see qr_frame): 55 % of the band high, smaller if wider than 90 % of the image; the
text is centred on its cap height.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Final

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont
from PIL import ImageFont

from services.render.qr_frame import TEXT_HEIGHT, TEXT_WIDTH

PathCommand = tuple[str, tuple[float, ...]]
_REFERENCE_SIZE: Final = 100


@lru_cache(maxsize=1)
def _font() -> TTFont:
    # Pillow >= 10.1 ships Aileron as a TrueType font (one size reads every size's bytes).
    font = ImageFont.load_default(size=_REFERENCE_SIZE)
    assert isinstance(font, ImageFont.FreeTypeFont)
    return TTFont(io.BytesIO(font.font_bytes))


class _OutlinePen(BasePen):  # type: ignore[misc]  # fontTools ships no type hints
    """Glyph contours scaled by ``scale`` (font units to px, y flipped) and moved to ``x, y``
    (the pen on the baseline); quadratic curves reach it as cubic ones (BasePen)."""

    def __init__(self, glyphs: object, scale: float, x: float, y: float) -> None:
        super().__init__(glyphs)
        self.commands: list[PathCommand] = []
        self._scale, self._x, self._y = scale, x, y

    def _pt(self, point: tuple[float, float]) -> tuple[float, float]:
        return self._x + point[0] * self._scale, self._y - point[1] * self._scale

    def _moveTo(self, pt: tuple[float, float]) -> None:  # noqa: N802 - fontTools' name
        self.commands.append(("M", self._pt(pt)))

    def _lineTo(self, pt: tuple[float, float]) -> None:  # noqa: N802 - fontTools' name
        self.commands.append(("L", self._pt(pt)))

    def _curveToOne(  # noqa: N802 - fontTools' name
        self, pt1: tuple[float, float], pt2: tuple[float, float], pt3: tuple[float, float]
    ) -> None:
        self.commands.append(("C", (*self._pt(pt1), *self._pt(pt2), *self._pt(pt3))))

    def _closePath(self) -> None:  # noqa: N802 - fontTools' name
        self.commands.append(("Z", ()))


def text_outline(text: str, width: int, band: tuple[int, int, int, int]) -> list[PathCommand]:
    """``text`` centred in ``band`` (left, top, right, bottom px) of an image ``width`` px
    wide, as path commands in px (y down)."""
    font = _font()
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    units = font["head"].unitsPerEm
    names = [cmap[ord(char)] for char in text]
    advance = sum(metrics[name][0] for name in names)
    left, top, right, bottom = band
    size = max(1.0, round(TEXT_HEIGHT * (bottom - top)))
    if advance * size / units > TEXT_WIDTH * width:
        size = max(1.0, float(int(size * TEXT_WIDTH * width / (advance * size / units))))
    scale = size / units
    cap = font["OS/2"].sCapHeight * scale
    x = (left + right) / 2 - advance * scale / 2
    baseline = (top + bottom) / 2 + cap / 2
    glyphs = font.getGlyphSet()
    commands: list[PathCommand] = []
    for name in names:
        pen = _OutlinePen(glyphs, scale, x, baseline)
        glyphs[name].draw(pen)
        commands += pen.commands
        x += metrics[name][0] * scale
    return commands


def text_outline_at(text: str, center_x: float, baseline: float, size: float) -> list[PathCommand]:
    """``text`` at font size ``size`` px centred on ``center_x`` with its baseline at
    ``baseline``, as path commands in px (y down): a barcode's human-readable text where the
    raster draws it (text_glyphs, the same font)."""
    font = _font()
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    scale = size / font["head"].unitsPerEm
    names = [cmap[ord(char)] for char in text]
    x = center_x - sum(metrics[name][0] for name in names) * scale / 2
    glyphs = font.getGlyphSet()
    commands: list[PathCommand] = []
    for name in names:
        pen = _OutlinePen(glyphs, scale, x, baseline)
        glyphs[name].draw(pen)
        commands += pen.commands
        x += metrics[name][0] * scale
    return commands


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def svg_path(commands: list[PathCommand]) -> str:
    return "".join(f"{op}{' '.join(_num(v) for v in values)}" for op, values in commands)


def postscript_path(commands: list[PathCommand]) -> str:
    """For a y-down, px-unit user space (see qr_eps)."""
    words = {"M": "moveto", "L": "lineto", "C": "curveto", "Z": "closepath"}
    return "\n".join(" ".join([*(_num(v) for v in values), words[op]]) for op, values in commands)
