"""render_barcode: a BarcodeSpec -> a verified PNG, SVG, PDF or EPS barcode.

Linear: validate + encode (:mod:`barcode_pattern`) -> lay out in whole pixels
(:mod:`barcode_layout`). 2D: encode and place in the bounding box (:mod:`barcode_matrix`).
Then draw the raster -> decode it back with zxing-cpp restricted to the symbology -> write the
PNG, or the SVG, PDF or EPS of the same layout (:mod:`barcode_vector`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt

from services.render.barcode_layout import BarLayout, layout_barcode
from services.render.barcode_matrix import (
    MATRIX_SYMBOLOGIES,
    MatrixLayout,
    draw_matrix,
    encode_matrix,
    layout_matrix,
)
from services.render.barcode_pattern import encode_barcode
from services.render.barcode_vector import BarcodeDrawing
from services.render.barcode_vector import render_eps as drawing_eps
from services.render.barcode_vector import render_pdf as drawing_pdf
from services.render.barcode_vector import render_svg as drawing_svg
from services.render.png_writer import png_from_gray
from services.render.scan_check import verify_barcode
from services.render.specs import BARCODE_OUTPUTS, CONTENT_TYPES, BarcodeSpec, RenderedImage
from services.render.text_glyphs import FONT_FAMILY, draw_text
from services.runtime.errors import ApiError

_MIN_SIDE: Final = 20
_MAX_SIDE: Final = 4096
# Rows of the bar area handed to the decoder: every row holds the same bars, so a band
# carries the whole symbol at a fraction of the decoding cost.
_VERIFY_ROWS: Final = 16


def render_barcode(spec: BarcodeSpec) -> RenderedImage:
    """Draw ``spec`` at exactly ``width`` x ``height`` px and return it once it decodes back.

    Raises ApiError: INVALID_PARAMETER (format, output, width, height), INVALID_EAN (EAN/UPC
    length or check digit), INVALID_BARCODE_VALUE (characters the symbology cannot carry).
    """
    if spec.output not in BARCODE_OUTPUTS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"output must be one of: {', '.join(BARCODE_OUTPUTS)}",
            field="output",
        )
    for name, value in (("width", spec.width), ("height", spec.height)):
        if not _MIN_SIDE <= value <= _MAX_SIDE:
            raise ApiError(
                "INVALID_PARAMETER", f"{name} must be {_MIN_SIDE}..{_MAX_SIDE}", field=name
            )
    if spec.symbology in MATRIX_SYMBOLOGIES:
        return _render_matrix(spec)
    pattern = encode_barcode(spec.symbology, spec.value)
    layout = layout_barcode(pattern, spec.width, spec.height, spec.show_text)
    canvas = draw_raster(layout)
    middle = (layout.top + layout.bottom) // 2
    band = canvas[max(0, middle - _VERIFY_ROWS // 2) : middle + _VERIFY_ROWS // 2]
    verify_barcode(band, spec.symbology, spec.value)
    if spec.output == "png":
        data = png_from_gray(canvas)
    elif spec.output == "svg":
        data = render_svg(layout)
    else:
        data = _vector(spec, linear_drawing(layout))
    return RenderedImage(
        data=data, content_type=CONTENT_TYPES[spec.output], version=0, error_correction=""
    )


def _vector(spec: BarcodeSpec, drawing: BarcodeDrawing) -> bytes:
    if spec.output == "pdf":
        return drawing_pdf(drawing)
    return drawing_eps(drawing, f"{spec.symbology} barcode")


def _render_matrix(spec: BarcodeSpec) -> RenderedImage:
    layout = layout_matrix(encode_matrix(spec.symbology, spec.value), spec.width, spec.height)
    canvas = draw_matrix(layout)
    verify_barcode(canvas, spec.symbology, spec.value)
    if spec.output == "png":
        data = png_from_gray(canvas)
    else:
        drawing = matrix_drawing(layout)
        data = drawing_svg(drawing) if spec.output == "svg" else _vector(spec, drawing)
    return RenderedImage(
        data=data, content_type=CONTENT_TYPES[spec.output], version=0, error_correction=""
    )


def linear_drawing(layout: BarLayout) -> BarcodeDrawing:
    """The bars (long ones down to ``long_bottom``) and text of a linear layout."""
    rects = [
        (x, layout.top, w, (layout.long_bottom if is_long else layout.bottom) - layout.top)
        for x, w, is_long in layout.bars
    ]
    return BarcodeDrawing(layout.width, layout.height, rects + list(layout.bearers), layout.texts)


def matrix_drawing(layout: MatrixLayout) -> BarcodeDrawing:
    return BarcodeDrawing(layout.width, layout.height, layout.rects())


def draw_raster(layout: BarLayout) -> npt.NDArray[np.uint8]:
    """The layout as a grey image (0 black .. 255 white)."""
    normal = _bar_row(layout.width, layout.bars)
    canvas = np.full((layout.height, layout.width), 255, dtype=np.uint8)
    canvas[layout.top : layout.bottom] = normal
    if layout.long_bottom > layout.bottom:
        canvas[layout.bottom : layout.long_bottom] = _bar_row(
            layout.width, [bar for bar in layout.bars if bar[2]]
        )
    for x, y, w, h in layout.bearers:
        canvas[y : y + h, x : x + w] = 0
    for item in layout.texts:
        draw_text(canvas, item.text, item.center_x, item.baseline, item.size)
    return canvas


def _bar_row(width: int, bars: Sequence[tuple[int, int, bool]]) -> npt.NDArray[np.uint8]:
    """One pixel row of ``bars`` (x, w, _): +1 where a bar starts, -1 where it ends, summed
    along the row (bars never touch), instead of one slice assignment per bar."""
    steps = np.zeros(width + 1, dtype=np.int8)
    if bars:
        xs, ws, _ = zip(*bars, strict=True)
        starts = np.asarray(xs)
        steps[starts] = 1
        steps[starts + np.asarray(ws)] = -1
    inside = np.cumsum(steps[:width], dtype=np.int8)
    return np.where(inside > 0, np.uint8(0), np.uint8(255))


def render_svg(layout: BarLayout) -> bytes:
    """The layout as SVG in pixel units: bars in one path, digits as text elements."""
    d = []
    for x, w, is_long in layout.bars:
        h = (layout.long_bottom if is_long else layout.bottom) - layout.top
        d.append(f"M{x} {layout.top}h{w}v{h}h{-w}z")
    for x, y, w, h in layout.bearers:
        d.append(f"M{x} {y}h{w}v{h}h{-w}z")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{layout.width}" '
        f'height="{layout.height}" viewBox="0 0 {layout.width} {layout.height}">',
        f'<rect width="{layout.width}" height="{layout.height}" fill="#ffffff"/>',
        f'<path fill="#000000" shape-rendering="crispEdges" d="{"".join(d)}"/>',
    ]
    if layout.texts:
        out.append(
            f'<g fill="#000000" font-family="{escape(FONT_FAMILY, {chr(34): "&quot;"})}" text-anchor="middle">'
        )
        for item in layout.texts:
            out.append(
                f'<text x="{item.center_x:.1f}" y="{item.baseline}" font-size="{item.size}">'
                f"{escape(item.text)}</text>"
            )
        out.append("</g>")
    out.append("</svg>\n")
    return "".join(out).encode("utf-8")
