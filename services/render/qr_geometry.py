"""Where everything of a QR design sits, in module units, shared by the raster and vector paths.

Every shape is a :class:`RoundedRect` (a circle is one with radius = half its side), so one
definition feeds the PNG sprites, the SVG path and the PDF path alike, and the raster that
verification decodes for an SVG or PDF has the vector's geometry exactly.

Coordinates: x to the right, y downwards, in modules; (0, 0) is the symbol's top-left corner
(the quiet zone lies outside).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from services.render.qr_matrix import QRMatrix

FINDER_MODULES: Final = 7
# Finder plus its one-module separator: the corner region that dot styles never touch.
_FINDER_ZONE: Final = 8
# Gap around the logo, in modules, cleared so the logo never touches a module.
LOGO_CLEAR_MARGIN: Final = 0.5

# Neighbour bits of a module's 4-neighbourhood, used to pick its shape.
UP: Final = 1
RIGHT: Final = 2
DOWN: Final = 4
LEFT: Final = 8
NO_MODULE: Final = 16  # code of an empty cell: index of the blank sprite
# Code of an alignment-pattern module: a full square in every dot style (see build_layout).
SOLID_MODULE: Final = 17


@dataclass(frozen=True, slots=True)
class RoundedRect:
    """An axis-aligned rectangle with per-corner radii (tl, tr, br, bl), filled or a hole.

    Radii along one side never exceed that side (radius sums are checked by the callers'
    constants), so the outline is always simple.
    """

    x: float
    y: float
    w: float
    h: float
    radii: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    hole: bool = False

    def moved(self, dx: float, dy: float) -> RoundedRect:
        return RoundedRect(self.x + dx, self.y + dy, self.w, self.h, self.radii, self.hole)


@dataclass(frozen=True, slots=True)
class LogoBox:
    """The logo's rectangle (aspect kept, centred) and the wider rectangle cleared around it."""

    x: float
    y: float
    w: float
    h: float
    clear_x0: float
    clear_y0: float
    clear_x1: float
    clear_y1: float


@dataclass(frozen=True, slots=True)
class QRLayout:
    """A matrix resolved into drawable parts for one design.

    ``codes[row, col]`` is the neighbour code (``UP | RIGHT | DOWN | LEFT`` bits of drawn
    neighbours) of every drawn data module and ``NO_MODULE`` elsewhere; finder patterns are
    drawn separately at ``finder_origins`` (row, col); ``cleared`` marks modules removed for the
    logo.
    """

    matrix: QRMatrix
    dot_style: str
    corner_style: str
    codes: npt.NDArray[np.uint8]
    cleared: npt.NDArray[np.bool_]
    finder_origins: tuple[tuple[int, int], ...]
    logo: LogoBox | None
    # The finders' 3x3 eye: "square" or "round", or "" for the corner style's own eye.
    eye_inner_style: str = ""

    @property
    def n(self) -> int:
        return self.matrix.size


def finder_mask(n: int) -> npt.NDArray[np.bool_]:
    """True over the three finder patterns and their separators."""
    mask = np.zeros((n, n), dtype=bool)
    z = _FINDER_ZONE
    mask[:z, :z] = True
    mask[:z, n - z :] = True
    mask[n - z :, :z] = True
    return mask


def logo_box(n: int, logo_size: float, aspect: float) -> LogoBox:
    """The logo fitted (aspect ``width / height`` kept) in a centred square of ``logo_size * n``."""
    side = logo_size * n
    w, h = (side, side / aspect) if aspect >= 1.0 else (side * aspect, side)
    x = (n - w) / 2
    y = (n - h) / 2
    m = LOGO_CLEAR_MARGIN
    return LogoBox(x, y, w, h, x - m, y - m, x + w + m, y + h + m)


def _cleared_modules(n: int, box: LogoBox | None) -> npt.NDArray[np.bool_]:
    cleared = np.zeros((n, n), dtype=bool)
    if box is None:
        return cleared
    # A module goes when its cell overlaps the clear rectangle at all.
    c0 = max(0, math.floor(box.clear_x0))
    c1 = min(n, math.ceil(box.clear_x1))
    r0 = max(0, math.floor(box.clear_y0))
    r1 = min(n, math.ceil(box.clear_y1))
    cleared[r0:r1, c0:c1] = True
    cleared &= ~finder_mask(n)
    return cleared


def alignment_centres(version: int) -> tuple[tuple[int, int], ...]:
    """(row, col) of every alignment pattern's centre (ISO/IEC 18004 Annex E), none at v1."""
    if version < 2:
        return ()
    n = 17 + 4 * version
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    axis = [6] + [n - 7 - i * step for i in range(count - 2, -1, -1)]
    last = axis[-1]
    corners = {(6, 6), (6, last), (last, 6)}  # under the finders
    return tuple((r, c) for r in axis for c in axis if (r, c) not in corners)


def alignment_mask(version: int, n: int) -> npt.NDArray[np.bool_]:
    """True over the 5x5 alignment patterns."""
    mask = np.zeros((n, n), dtype=bool)
    for row, col in alignment_centres(version):
        mask[row - 2 : row + 3, col - 2 : col + 3] = True
    return mask


def neighbour_codes(drawn: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Per drawn module, the bits of its drawn 4-neighbours; ``NO_MODULE`` where not drawn."""
    n = drawn.shape[0]
    padded = np.zeros((n + 2, n + 2), dtype=bool)  # np.pad costs ~10x more on small grids
    padded[1:-1, 1:-1] = drawn
    codes = (
        padded[:-2, 1:-1].astype(np.uint8) * UP
        | padded[1:-1, 2:].astype(np.uint8) * RIGHT
        | padded[2:, 1:-1].astype(np.uint8) * DOWN
        | padded[1:-1, :-2].astype(np.uint8) * LEFT
    )
    return np.where(drawn, codes, np.uint8(NO_MODULE)).astype(np.uint8)


def build_layout(
    matrix: QRMatrix,
    dot_style: str,
    corner_style: str,
    logo_size: float | None,
    logo_aspect: float = 1.0,
    eye_inner_style: str = "",
) -> QRLayout:
    """Resolve ``matrix`` for a design; ``logo_size`` None means no logo."""
    n = matrix.size
    box = None if logo_size is None else logo_box(n, logo_size, logo_aspect)
    cleared = _cleared_modules(n, box)
    drawn = matrix.dark & ~finder_mask(n) & ~cleared
    codes = neighbour_codes(drawn)
    # Alignment patterns are drawn as square modules whatever the dot style: readers look for
    # their 1:1:1 ring to correct perspective, and in isolated dots (style "dots") zxing-cpp
    # missed it on sharp images (a clean 479 px version-3 "dots" code did not decode).
    codes[alignment_mask(matrix.version, n) & drawn] = SOLID_MODULE
    origins = ((0, 0), (0, n - FINDER_MODULES), (n - FINDER_MODULES, 0))
    return QRLayout(
        matrix=matrix,
        dot_style=dot_style,
        corner_style=corner_style,
        codes=codes,
        cleared=cleared,
        finder_origins=origins,
        logo=box,
        eye_inner_style=eye_inner_style,
    )


@lru_cache(maxsize=256)
def dot_shape(style: str, code: int) -> RoundedRect:
    """The shape of one data module in its unit cell, given its neighbour code.

    Following qr-code-styling: ``round`` rounds only corners whose two sides have no
    neighbour, so runs of modules join into blobs; ``dots`` are free-standing circles a
    little smaller than the cell; ``classy`` rounds the exposed top-left and bottom-right
    corners, ``classy-rounded`` does it with a full-cell radius (a leaf when isolated).
    """
    if code == SOLID_MODULE:
        return RoundedRect(0.0, 0.0, 1.0, 1.0)
    up, right, down, left = (bool(code & bit) for bit in (UP, RIGHT, DOWN, LEFT))
    tl_free = not (up or left)
    tr_free = not (up or right)
    br_free = not (down or right)
    bl_free = not (down or left)
    if style == "square":
        return RoundedRect(0.0, 0.0, 1.0, 1.0)
    if style == "dots":
        return RoundedRect(0.1, 0.1, 0.8, 0.8, (0.4, 0.4, 0.4, 0.4))
    if style == "round":
        r = 0.5
        return RoundedRect(
            0.0,
            0.0,
            1.0,
            1.0,
            (
                r if tl_free else 0.0,
                r if tr_free else 0.0,
                r if br_free else 0.0,
                r if bl_free else 0.0,
            ),
        )
    if style in ("classy", "classy-rounded"):
        r = 0.5 if style == "classy" else 1.0
        return RoundedRect(
            0.0, 0.0, 1.0, 1.0, (r if tl_free else 0.0, 0.0, r if br_free else 0.0, 0.0)
        )
    raise ValueError(f"unknown dot style {style!r}")


@lru_cache(maxsize=16)
def finder_shapes(corner_style: str, eye_inner_style: str = "") -> tuple[RoundedRect, ...]:
    """Outer ring (solid 7x7, then a 5x5 hole) and the 3x3 eye, in the finder's 7x7 cell.

    Painted in order: later shapes overwrite earlier ones. Every style keeps the 1:1:3:1:1
    dark/light run ratio through the centre that readers look for. ``eye_inner_style``
    ("square" or "round") overrides the corner style's eye; "" keeps it.

    The ring's corner radii are capped (outer 2, hole 1 for "round") so that its straight
    sides span every scanline through the 3x3 eye: zbar finds finders by the 1:1:3:1:1 run
    ratio along rows and columns and then fits lines to the ring's outer edges, and a fully
    circular ring (radii 3.5/2.5) matches the ratio only within about one module of the
    centre and gives no straight edge to fit; zbar then missed 14 % of clean "round" codes,
    most at 10+ px per module. Radii 2 and 1 share a centre, so the ring stays one module
    wide all round. A round eye is a 3x3 square with 1-module corner radii rather than a
    circle: a circle's chords off its centre row shorten the 3-module run, and zbar then
    missed 5 % of photographed round-corner codes (2.8 % with radius 1, 1.7 % with square
    corners; 60 designs x 3 photos each).
    """
    if corner_style == "square":
        outer, inner, eye = 0.0, 0.0, 0.0
    elif corner_style == "round":
        outer, inner, eye = 2.0, 1.0, 1.0
    elif corner_style == "extra-rounded":
        outer, inner, eye = 2.5, 1.5, 0.75
    else:
        raise ValueError(f"unknown corner style {corner_style!r}")
    if eye_inner_style == "square":
        eye = 0.0
    elif eye_inner_style == "round":
        eye = 1.0
    elif eye_inner_style:
        raise ValueError(f"unknown eye inner style {eye_inner_style!r}")
    return (
        RoundedRect(0.0, 0.0, 7.0, 7.0, (outer,) * 4),
        RoundedRect(1.0, 1.0, 5.0, 5.0, (inner,) * 4, hole=True),
        RoundedRect(2.0, 2.0, 3.0, 3.0, (eye,) * 4),
    )


def function_module_count(version: int) -> int:
    """Modules a version spends on finders, separators, timing, alignment, format, version info."""
    n = 17 + 4 * version
    count = 3 * 64 + 2 * (n - 16) + 31
    if version >= 2:
        per_axis = version // 7 + 2
        alignment = per_axis * per_axis - 3
        count += 25 * alignment
        # Alignment patterns on the timing lines overlap 5 timing modules each.
        count -= 10 * (per_axis - 2)
    if version >= 7:
        count += 36
    return count
