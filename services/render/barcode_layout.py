"""Where the bars and digits of a linear barcode go on a ``width`` x ``height`` px image.

One layout feeds both the PNG raster and the SVG, so the SVG's bars are the very rectangles
that verification decoded in the raster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from services.render.barcode_pattern import BarPattern
from services.render.text_glyphs import cap_height, text_width
from services.runtime.errors import ApiError

# Font size in modules for EAN/UPC digits: a cap height of about 6.5 modules, close to the
# GS1 proportions (OCR-B digits ~2.75 mm at X = 0.33 mm).
_FONT_MODULES: Final = 9.7
_MIN_FONT_PX: Final = 8
_PLAIN_MIN_FONT_PX: Final = 10
# The text band never takes more than this share of the height: the bars stay the symbol.
_MAX_TEXT_SHARE: Final = 0.3
# Long (guard) bars reach this far down the text band, like GS1's 5X guard extension.
_GUARD_REACH: Final = 0.65
_SMALL_DIGIT: Final = 0.75
_MIN_BAR_PX: Final = 8
# ITF-14 bearer bars (GS1 General Specifications 5.3.2.4): touching the top and bottom of the
# bars across the symbol and its quiet zones, so that a scan line entering at a slant meets a
# bar and not a short read; 2X is the minimum outside printing-plate work.
_BEARER_MODULES: Final = 2
_BEARER_SYMBOLOGIES: Final = frozenset({"ITF14"})


@dataclass(frozen=True, slots=True)
class TextItem:
    text: str
    center_x: float
    baseline: int
    size: int


@dataclass(frozen=True, slots=True)
class BarLayout:
    """Bars as pixel runs (x, width, long?) between ``top`` and ``bottom`` (long bars reach
    ``long_bottom``), and the text items to draw."""

    width: int
    height: int
    module_px: int
    x0: int  # left edge of the first module
    top: int
    bottom: int
    long_bottom: int
    bars: tuple[tuple[int, int, bool], ...]
    texts: tuple[TextItem, ...]
    # Bearer bars (x, y, w, h): ITF-14's, above and below the bars.
    bearers: tuple[tuple[int, int, int, int], ...] = ()


def _bar_runs(pattern: BarPattern, x0: int, m: int) -> tuple[tuple[int, int, bool], ...]:
    bars = np.concatenate(([False], pattern.bars, [False]))
    edges = np.flatnonzero(bars[1:] != bars[:-1])
    starts, ends = edges[::2], edges[1::2]
    # Built by numpy and zipped: a GS1-128 symbol has ~70 bars, a Python loop a third of its
    # layout time.
    return tuple(
        zip(
            (x0 + starts * m).tolist(),
            ((ends - starts) * m).tolist(),
            pattern.long_bars[starts].tolist(),
            strict=True,
        )
    )


def layout_barcode(pattern: BarPattern, width: int, height: int, show_text: bool) -> BarLayout:
    """Whole-pixel modules (``width // modules incl. quiet zones``), the symbol centred.

    Raises ApiError INVALID_PARAMETER when the width cannot give each module a pixel, or the
    height cannot hold bars (and text, when asked).
    """
    total = pattern.quiet_left + pattern.modules + pattern.quiet_right
    m = width // total
    if m < 1:
        raise ApiError(
            "INVALID_PARAMETER",
            f"width {width} px is too small for {pattern.symbology} {pattern.value!r}: "
            f"it needs {total} px (one per module, quiet zones included)",
            field="width",
        )
    x0 = (width - total * m) // 2 + pattern.quiet_left * m
    margin = min(max(2, 2 * m), height // 10)
    top, baseline = margin, height - margin
    texts: tuple[TextItem, ...] = ()
    bottom = long_bottom = baseline
    if show_text:
        size = _text_size(pattern, m, height - 2 * margin)
        cap = cap_height(size)
        gap = max(1, round(cap * 0.15))
        bottom = baseline - cap - gap
        long_bottom = bottom + round((cap + gap) * _GUARD_REACH) if pattern.groups else bottom
        texts = _text_items(pattern, x0, m, baseline, size)
    bearers: tuple[tuple[int, int, int, int], ...] = ()
    if pattern.symbology in _BEARER_SYMBOLOGIES:
        thickness = _BEARER_MODULES * m
        left = x0 - pattern.quiet_left * m
        bearers = (
            (left, top, total * m, thickness),
            (left, bottom - thickness, total * m, thickness),
        )
        top, bottom = top + thickness, bottom - thickness
        long_bottom = bottom
    if bottom - top < _MIN_BAR_PX:
        raise ApiError(
            "INVALID_PARAMETER",
            f"height {height} px leaves no room for the bars"
            + ("; raise it or set show_text to false" if show_text else ""),
            field="height",
        )
    return BarLayout(
        width=width,
        height=height,
        module_px=m,
        x0=x0,
        top=top,
        bottom=bottom,
        long_bottom=long_bottom,
        bars=_bar_runs(pattern, x0, m),
        texts=texts,
        bearers=bearers,
    )


def _text_size(pattern: BarPattern, m: int, inner_height: int) -> int:
    by_height = int(inner_height * _MAX_TEXT_SHARE / 0.85)  # cap ~0.67 em plus the gap
    if pattern.groups:
        size = min(round(_FONT_MODULES * m), by_height)
        if size < _MIN_FONT_PX:
            raise _too_small_for_text()
        return size
    size = min(max(_PLAIN_MIN_FONT_PX, round(_FONT_MODULES * m)), by_height)
    room = (pattern.quiet_left + pattern.modules + pattern.quiet_right) * m
    while size >= _MIN_FONT_PX and text_width(pattern.value, size) > room:
        size -= 1
    if size < _MIN_FONT_PX:
        raise _too_small_for_text()
    return size


def _too_small_for_text() -> ApiError:
    return ApiError(
        "INVALID_PARAMETER",
        "the image is too small for legible human-readable text; make it larger or set "
        "show_text to false",
        field="height",
    )


def _text_items(
    pattern: BarPattern, x0: int, m: int, baseline: int, size: int
) -> tuple[TextItem, ...]:
    if not pattern.groups:
        return (TextItem(pattern.value, x0 + pattern.modules * m / 2, baseline, size),)
    items = []
    small = max(_MIN_FONT_PX, round(size * _SMALL_DIGIT))
    for group in pattern.groups:
        share = (group.end - group.start) / len(group.text)
        for i, digit in enumerate(group.text):
            center = x0 + (group.start + (i + 0.5) * share) * m
            items.append(TextItem(digit, center, baseline, small if group.small else size))
    return tuple(items)
