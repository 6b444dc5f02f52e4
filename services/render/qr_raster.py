"""QR layouts -> pixel rasters: the plain two-colour fast path and sprite composition.

Styled symbols are composed from cached sprites (one per shape, pixel size and style) with
numpy fancy indexing, never by drawing module after module. Pixels are *coverage levels*
0..``LEVELS - 1`` (0 = background, top = foreground); the PNG palette maps each level to the
blend of the two colours, which keeps anti-aliased edges in an 8-bit palette image that
compresses several times faster than RGB. Indices from ``LEVELS`` up belong to the logo.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from services.render.colors import RGB
from services.render.png_writer import RowRuns
from services.render.qr_geometry import (
    FINDER_MODULES,
    NO_MODULE,
    SOLID_MODULE,
    QRLayout,
    RoundedRect,
    dot_shape,
    finder_shapes,
)
from services.render.qr_matrix import QRMatrix
from services.render.qr_paint import GradientPaint, Paint

LEVELS: Final = 64
_TOP: Final = LEVELS - 1


@dataclass(frozen=True, slots=True)
class Placement:
    """Whole-pixel geometry of a symbol on a square canvas."""

    canvas: int  # canvas side, px
    module_px: int
    origin: int  # px from the canvas edge to the symbol's first module (both axes)


def place(n: int, quiet_zone: int, size: int) -> Placement | None:
    """Whole-pixel modules: ``size // (n + 2 * quiet_zone)`` px each, the symbol centred.

    The remainder widens the margin on both sides (by at most one pixel difference), so the
    quiet zone is never narrower than asked. None when even 1 px per module does not fit.
    """
    module_px = size // (n + 2 * quiet_zone)
    if module_px < 1:
        return None
    return Placement(canvas=size, module_px=module_px, origin=(size - n * module_px) // 2)


@lru_cache(maxsize=256)
def level_palette(fg: RGB, bg: RGB) -> npt.NDArray[np.uint8]:
    """(LEVELS, 3) palette: entry i is the background blended towards the foreground by i/TOP."""
    i = np.arange(LEVELS, dtype=np.int32)[:, np.newaxis]
    f = np.array(fg, dtype=np.int32)
    b = np.array(bg, dtype=np.int32)
    palette = ((b * (_TOP - i) + f * i + _TOP // 2) // _TOP).astype(np.uint8)
    palette.setflags(write=False)
    return palette


def _inside(
    shape: RoundedRect, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    x0, y0, x1, y1 = shape.x, shape.y, shape.x + shape.w, shape.y + shape.h
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    tl, tr, br, bl = shape.radii
    for r, cx, cy, sx, sy in (
        (tl, x0 + tl, y0 + tl, -1, -1),
        (tr, x1 - tr, y0 + tr, 1, -1),
        (br, x1 - br, y1 - br, 1, 1),
        (bl, x0 + bl, y1 - bl, -1, 1),
    ):
        if r <= 0:
            continue
        in_corner = ((xs - cx) * sx > 0) & ((ys - cy) * sy > 0)
        outside_arc = (xs - cx) ** 2 + (ys - cy) ** 2 > r * r
        inside &= ~(in_corner & outside_arc)
    return inside


def rasterize(shapes: tuple[RoundedRect, ...], cells: int, px: int) -> npt.NDArray[np.uint8]:
    """Coverage levels of ``shapes`` painted in order over a ``cells`` x ``cells`` area.

    Supersampled (a finer grid for small sprites, where edges are a large share of the
    pixels); holes paint background. Result: (cells*px, cells*px) uint8 levels.
    """
    ss = 4 if px <= 24 else 2
    side = cells * px
    samples = (np.arange(side * ss, dtype=np.float64) + 0.5) / (ss * px)
    xs = samples[np.newaxis, :]
    ys = samples[:, np.newaxis]
    painted = np.zeros((side * ss, side * ss), dtype=bool)
    for shape in shapes:
        inside = _inside(shape, xs, ys)
        if shape.hole:
            painted &= ~inside
        else:
            painted |= inside
    hits = painted.reshape(side, ss, side, ss).sum(axis=(1, 3), dtype=np.int32)
    levels: npt.NDArray[np.uint8] = ((hits * _TOP + ss * ss // 2) // (ss * ss)).astype(np.uint8)
    return levels


@lru_cache(maxsize=64)
def dot_sprites(style: str, px: int) -> npt.NDArray[np.uint8]:
    """(px, SOLID_MODULE + 1, px) sprite rows: ``[y, code, x]``; code ``NO_MODULE`` is blank,
    ``SOLID_MODULE`` a full square.

    Row-major by sprite row, so that gathering by code lays a whole module row of sprites
    out in canvas order in one pass (see :func:`compose_levels`).
    """
    sprites = np.zeros((SOLID_MODULE + 1, px, px), dtype=np.uint8)
    by_shape: dict[RoundedRect, npt.NDArray[np.uint8]] = {}
    for code in (*range(NO_MODULE), SOLID_MODULE):
        shape = dot_shape(style, code)
        if shape not in by_shape:
            by_shape[shape] = rasterize((shape,), 1, px)
        sprites[code] = by_shape[shape]
    rows = np.ascontiguousarray(sprites.transpose(1, 0, 2))
    rows.setflags(write=False)
    return rows


@lru_cache(maxsize=32)
def finder_sprite(corner_style: str, px: int, eye_inner_style: str = "") -> npt.NDArray[np.uint8]:
    """(7*px, 7*px) coverage levels of one finder pattern."""
    sprite = rasterize(finder_shapes(corner_style, eye_inner_style), FINDER_MODULES, px)
    sprite.setflags(write=False)
    return sprite


def compose_levels(
    layout: QRLayout,
    placement: Placement,
    logo: npt.NDArray[np.uint8] | None = None,
) -> npt.NDArray[np.uint8]:
    """The whole canvas as palette indices: coverage levels, plus the logo's own indices.

    ``logo`` is an index block sized to the layout's logo box at this module size (see
    :func:`logo_pixel_rect`); its indices must start at ``LEVELS``.
    """
    n = layout.n
    px = placement.module_px
    o = placement.origin
    canvas = np.zeros((placement.canvas, placement.canvas), dtype=np.uint8)
    symbol = canvas[o : o + n * px, o : o + n * px]
    # Gather straight into a (y, row, col, x) view of the symbol area: one pass, no temporary.
    # mode="clip" keeps numpy from buffering the output (codes are always in range).
    target = symbol.reshape(n, px, n, px).transpose(1, 0, 2, 3)
    np.take(dot_sprites(layout.dot_style, px), layout.codes, axis=1, out=target, mode="clip")
    finder = finder_sprite(layout.corner_style, px, layout.eye_inner_style)
    side = FINDER_MODULES * px
    for row, col in layout.finder_origins:
        symbol[row * px : row * px + side, col * px : col * px + side] = finder
    if logo is not None:
        x, y, w, h = logo_pixel_rect(layout, placement)
        if logo.shape != (h, w):
            raise ValueError(f"logo block is {logo.shape}, the layout wants {(h, w)}")
        canvas[y : y + h, x : x + w] = logo
    return canvas


def logo_pixel_rect(layout: QRLayout, placement: Placement) -> tuple[int, int, int, int]:
    """(x, y, width, height) in canvas pixels of the layout's logo box."""
    box = layout.logo
    if box is None:
        raise ValueError("layout has no logo")
    px = placement.module_px
    x0 = placement.origin + round(box.x * px)
    y0 = placement.origin + round(box.y * px)
    x1 = placement.origin + round((box.x + box.w) * px)
    y1 = placement.origin + round((box.y + box.h) * px)
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


@dataclass(frozen=True, slots=True)
class PlainRows:
    """A square-module symbol as 1-bit PNG rows (1 = dark) and the grid read back from them.

    ``modules`` samples each module's centre pixel in the very rows written, so verification
    decodes what goes into the PNG.
    """

    runs: RowRuns
    modules: npt.NDArray[np.bool_]


def plain_rows(matrix: QRMatrix, placement: Placement) -> PlainRows:
    """Rows of a square-module symbol: one distinct row per module row (plus the blank
    margin row), so the cost grows with the side, not the area."""
    n = matrix.size
    px = placement.module_px
    o = placement.origin
    size = placement.canvas
    rows = np.zeros((n + 1, size), dtype=bool)  # last row: the blank margin
    rows[:n, o : o + n * px] = np.repeat(matrix.dark, px, axis=1)
    packed = np.packbits(rows, axis=1)
    order = np.concatenate(([n], np.arange(n), [n]))
    counts = np.full(n + 2, px, dtype=np.int64)
    counts[0] = o
    counts[-1] = size - o - n * px
    return PlainRows(
        runs=RowRuns(rows=packed[order], counts=counts),
        modules=rows[:n, o + px // 2 : o + n * px : px],
    )


# Rows coloured per pass by :func:`colorize`: bounds its temporaries (~25 MB at 4096 px wide).
_COLORIZE_ROWS: Final = 512


def ink_canvas(layout: QRLayout, placement: Placement, paint: Paint) -> npt.NDArray[np.uint8]:
    """(H, W, 3) colour each pixel's coverage is drawn in: ``fg`` or the gradient at the
    pixel's centre, but an eye colour over the finder rings' 7x7 boxes and their 3x3 eyes (the
    gap between is background at any style, so boxes separate the two exactly)."""
    side = placement.canvas
    eye, eye_inner = paint.own(paint.eye), paint.own(paint.eye_inner)
    px, o = placement.module_px, placement.origin
    gradient = paint.gradient
    if gradient is not None:
        make = _cached_gradient_field if side <= _CACHED_FIELD_MAX_SIDE else _gradient_field
        field = make(gradient, layout.n, side, o, px)
        if eye is None and eye_inner is None:
            return field
        ink = field.copy()
    else:
        ink = np.empty((side, side, 3), dtype=np.uint8)
        ink[:] = paint.fg
    for row, col in layout.finder_origins:
        y, x = o + row * px, o + col * px
        if eye is not None:
            ink[y : y + FINDER_MODULES * px, x : x + FINDER_MODULES * px] = eye
        if eye_inner is not None:
            ink[y + 2 * px : y + 5 * px, x + 2 * px : x + 5 * px] = eye_inner
        elif eye is not None:  # the eye is the modules' ink again inside an own-coloured ring
            ink[y + 2 * px : y + 5 * px, x + 2 * px : x + 5 * px] = _module_ink(
                paint, layout.n, y + 2 * px, x + 2 * px, 3 * px, o, px
            )
    return ink


# Fields up to this side are cached (3 MB each at most, 8 of them).
_CACHED_FIELD_MAX_SIDE: Final = 1024


def _gradient_field(
    gradient: GradientPaint, n: int, side: int, origin: int, px: int
) -> npt.NDArray[np.uint8]:
    """(side, side, 3) read-only: the gradient at every pixel centre, in module coordinates
    as the vector writers' gradients use."""
    field = np.empty((side, side, 3), dtype=np.uint8)
    coords = ((np.arange(side, dtype=np.float32) - origin + 0.5) / px).astype(np.float32)
    for top in range(0, side, _COLORIZE_ROWS):
        ys = coords[top : top + _COLORIZE_ROWS, np.newaxis]
        t = gradient.offset_at(coords[np.newaxis, :], ys, n)
        field[top : top + _COLORIZE_ROWS] = gradient.colors_at(t)
    field.setflags(write=False)
    return field


# A batch or a campaign draws many codes of one design at one size and version; computing the
# field was ~60 % of such a render.
_cached_gradient_field = lru_cache(maxsize=8)(_gradient_field)


def _module_ink(
    paint: Paint, n: int, y: int, x: int, side: int, origin: int, px: int
) -> npt.NDArray[np.uint8]:
    """(side, side, 3) of the modules' own ink over a square of pixels."""
    if paint.gradient is None:
        block = np.empty((side, side, 3), dtype=np.uint8)
        block[:] = paint.fg
        return block
    ys = ((np.arange(y, y + side, dtype=np.float32) - origin + 0.5) / px)[:, np.newaxis]
    xs = ((np.arange(x, x + side, dtype=np.float32) - origin + 0.5) / px)[np.newaxis, :]
    return paint.gradient.colors_at(paint.gradient.offset_at(xs, ys, n))


def colorize(
    canvas: npt.NDArray[np.uint8],
    palette: npt.NDArray[np.uint8],
    ink: npt.NDArray[np.uint8],
    bg: RGB | None,
) -> npt.NDArray[np.uint8]:
    """(H, W, 3) RGB of a composed canvas drawn in per-pixel inks: coverage level i blends
    ``bg`` towards that pixel's ink by i/TOP (as :func:`level_palette` does for one ink);
    indices from ``LEVELS`` up (the logo) take their ``palette`` colour. With ``bg`` None
    (a transparent background): (H, W, 4) RGBA, the ink at an opacity of i/TOP, the logo
    opaque."""
    height, width = canvas.shape
    out = np.empty((height, width, 3 if bg is not None else 4), dtype=np.uint8)
    for top in range(0, height, _COLORIZE_ROWS):
        rows = slice(top, top + _COLORIZE_ROWS)
        levels = np.ascontiguousarray(canvas[rows])
        band = out[rows]
        # Pillow's C loops over the band: a LUT (point) for the coverage, a masked paste for
        # the blend. numpy's gather and boolean indexing took ~8 ms of a 512 px gradient.
        coverage = Image.frombuffer("L", (width, len(levels)), levels, "raw", "L", 0, 1).point(
            _COVERAGE_LUT
        )
        if bg is None:
            band[..., :3] = ink[rows]
            band[..., 3] = np.asarray(coverage)
        else:
            # Pillow's composite blends in C, ~2x faster than numpy over every pixel; its
            # rounding differs by at most 1 per channel.
            inks = Image.frombuffer(
                "RGB", coverage.size, np.ascontiguousarray(ink[rows]), "raw", "RGB", 0, 1
            )
            plain = Image.new("RGB", inks.size, bg)
            plain.paste(inks, None, coverage)  # what Image.composite does, without a copy
            band[:] = np.asarray(plain)
        _paint_logo(band, levels, palette)
    return out


# Up to this side a code is coloured in one piece as a Pillow image (see colorized_image):
# its images then hold 4 MB at most.
COLORIZED_IMAGE_MAX_SIDE: Final = 1024


def colorized_image(
    canvas: npt.NDArray[np.uint8],
    palette: npt.NDArray[np.uint8],
    ink: Image.Image,
    bg: RGB,
    *,
    into: Image.Image | None = None,
    at: tuple[int, int] = (0, 0),
) -> Image.Image:
    """:func:`colorize` over ``bg`` as an RGB image, for canvases up to
    ``COLORIZED_IMAGE_MAX_SIDE``: the same pixels without the copies in and out of numpy
    (~1/3 of a framed gradient code's time). ``ink``: see :func:`ink_image`. Given ``into``
    (an RGB image, a frame), the code is painted there with its top left at ``at``, and
    ``into`` returned."""
    height, width = canvas.shape
    levels = np.ascontiguousarray(canvas)
    coverage = Image.frombuffer("L", (width, height), levels, "raw", "L", 0, 1).point(_COVERAGE_LUT)
    x, y = at
    if into is None:
        image = Image.new("RGB", (width, height), bg)
    else:
        image = into
        image.paste(bg, (x, y, x + width, y + height))
    image.paste(ink, (x, y), coverage)
    logo = levels >= LEVELS
    box = _bounding_box(logo)
    if box is not None:
        top, left = box[0].start, box[1].start
        inside = logo[box]
        block = Image.fromarray(np.ascontiguousarray(palette[levels[box]]), "RGB")
        mask = None if inside.all() else Image.fromarray(inside.astype(np.uint8) * 255, "L")
        image.paste(block, (x + left, y + top), mask)
    return image


def ink_image(layout: QRLayout, placement: Placement, paint: Paint) -> Image.Image:
    """:func:`ink_canvas` as an RGB image; a plain gradient's is cached with its field."""
    gradient = paint.gradient
    side = placement.canvas
    if (
        gradient is not None
        and paint.own(paint.eye) is None
        and paint.own(paint.eye_inner) is None
        and side <= _CACHED_FIELD_MAX_SIDE
    ):
        return _cached_gradient_image(
            gradient, layout.n, side, placement.origin, placement.module_px
        )
    return Image.fromarray(ink_canvas(layout, placement, paint), "RGB")


@lru_cache(maxsize=8)
def _cached_gradient_image(
    gradient: GradientPaint, n: int, side: int, origin: int, px: int
) -> Image.Image:
    """Shared through the cache: callers must not modify it."""
    return Image.fromarray(_cached_gradient_field(gradient, n, side, origin, px), "RGB")


def _paint_logo(
    band: npt.NDArray[np.uint8],
    levels: npt.NDArray[np.uint8],
    palette: npt.NDArray[np.uint8],
) -> None:
    """Give indices from ``LEVELS`` up (the logo) their ``palette`` colour, opaque, within the
    logo's bounding box only (a boolean index over the whole band cost ~1 ms at 512 px)."""
    logo = levels >= LEVELS
    box = _bounding_box(logo)
    if box is None:
        return
    inside, indices, block = logo[box], levels[box], band[box]
    block[inside, :3] = palette[indices[inside]]
    if band.shape[2] == 4:
        block[inside, 3] = 255


def _bounding_box(mask: npt.NDArray[np.bool_]) -> tuple[slice, slice] | None:
    """The smallest (rows, columns) box holding every True of ``mask``; None when there is
    none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(columns[0]), int(columns[-1]) + 1)


# Opacity 0..255 of each canvas index's coverage (logo indices: 0, drawn afterwards).
_COVERAGE_MASK: Final = np.zeros(256, dtype=np.uint8)
_COVERAGE_MASK[:LEVELS] = (np.arange(LEVELS, dtype=np.int32) * 255 + _TOP // 2) // _TOP
_COVERAGE_LUT: Final = _COVERAGE_MASK.tolist()


@lru_cache(maxsize=64)
def level_alpha() -> npt.NDArray[np.uint8]:
    """(LEVELS,) opacity of each coverage level over a transparent background."""
    alpha = ((np.arange(LEVELS, dtype=np.int32) * 255 + _TOP // 2) // _TOP).astype(np.uint8)
    alpha.setflags(write=False)
    return alpha
