"""QR layouts -> SVG and PDF, as vector paths built from the shared geometry.

Every module and finder shape goes into one path filled with the non-zero rule: holes
(the finder rings' insides) are wound the other way, and shapes that touch share one fill,
so renderers show no hairline seams between adjacent modules. Square modules are merged
into horizontal runs first, which keeps plain codes small.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule
from fpdf.pattern import Gradient, LinearGradient, RadialGradient

from services.render.colors import RGB
from services.render.logo_image import logo_rgba
from services.render.qr_geometry import (
    NO_MODULE,
    QRLayout,
    RoundedRect,
    dot_shape,
    finder_shapes,
)
from services.render.qr_paint import GradientPaint, Ink, Paint

# A quarter circle as one cubic Bezier: control points this far along the tangents
# (max radial error 0.03 %).
_KAPPA: Final = 0.5522847498
# Vector output is a pure function of the spec (downloads carry a strong ETag), so the PDF
# gets a fixed creation date instead of "now".
_PDF_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
# Pixels per PDF point for the embedded logo raster (~288 dpi), capped for huge pages.
_PDF_LOGO_PX_PER_PT: Final = 4
_PDF_LOGO_MAX_PX: Final = 1024

Point = tuple[float, float]


def layout_shapes(layout: QRLayout) -> Iterator[RoundedRect]:
    """Every shape of the symbol in module coordinates (quiet zone not included)."""
    yield from module_shapes(layout)
    yield from ring_shapes(layout)
    yield from eye_shapes(layout)


def module_shapes(layout: QRLayout) -> Iterator[RoundedRect]:
    """The data (and timing, alignment) modules, finders left out."""
    codes = layout.codes
    drawn = codes != NO_MODULE
    if layout.dot_style == "square":
        for row in range(layout.n):
            line = drawn[row]
            padded = np.concatenate(([False], line, [False]))
            edges = np.flatnonzero(padded[1:] != padded[:-1])
            for start, end in zip(edges[::2], edges[1::2], strict=True):
                yield RoundedRect(float(start), float(row), float(end - start), 1.0)
    else:
        rows, cols = np.nonzero(drawn)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            yield dot_shape(layout.dot_style, int(codes[row, col])).moved(col, row)


def ring_shapes(layout: QRLayout) -> Iterator[RoundedRect]:
    """The finders' outer rings (a 7x7 shape and its 5x5 hole each)."""
    for row, col in layout.finder_origins:
        for shape in finder_shapes(layout.corner_style, layout.eye_inner_style)[:2]:
            yield shape.moved(col, row)


def eye_shapes(layout: QRLayout) -> Iterator[RoundedRect]:
    """The finders' 3x3 eyes."""
    for row, col in layout.finder_origins:
        for shape in finder_shapes(layout.corner_style, layout.eye_inner_style)[2:]:
            yield shape.moved(col, row)


def ink_groups(layout: QRLayout, paint: Paint) -> list[tuple[Ink, list[RoundedRect]]]:
    """The symbol's shapes by the ink they are filled with (None: the modules' own ink,
    fg_color or the gradient), in painting order: one group for a single-ink design (one
    path, as before eye colours existed), else modules, rings and eyes, those of one ink kept
    in one path so that they show no seams."""
    parts = (
        (None, module_shapes(layout)),
        (paint.own(paint.eye), ring_shapes(layout)),
        (paint.own(paint.eye_inner), eye_shapes(layout)),
    )
    groups: dict[Ink, list[RoundedRect]] = {}
    for color, shapes in parts:
        groups.setdefault(color, []).extend(shapes)
    return list(groups.items())


def _contour(shape: RoundedRect) -> list[tuple[Point, Point, Point, float]]:
    """Per corner, in drawing order: (arc start, corner point, arc end, radius).

    Clockwise on screen (y down) for filled shapes, counter-clockwise for holes, so the
    non-zero rule cuts holes out.
    """
    x0, y0 = shape.x, shape.y
    x1, y1 = x0 + shape.w, y0 + shape.h
    tl, tr, br, bl = shape.radii
    clockwise = [
        ((x0, y0 + tl), (x0, y0), (x0 + tl, y0), tl),
        ((x1 - tr, y0), (x1, y0), (x1, y0 + tr), tr),
        ((x1, y1 - br), (x1, y1), (x1 - br, y1), br),
        ((x0 + bl, y1), (x0, y1), (x0, y1 - bl), bl),
    ]
    if not shape.hole:
        return clockwise
    return [(end, corner, start, r) for start, corner, end, r in reversed(clockwise)]


# Per corner of an outline: the end of the straight side leading to it, then its quarter arc
# as one cubic Bezier (two control points and the end), or None for a sharp corner.
OutlineSegment = tuple[Point, tuple[Point, Point, Point] | None]


def outline(shape: RoundedRect) -> tuple[Point, list[OutlineSegment]]:
    """``shape`` as a start point and closed segments of lines and cubic Beziers (module
    coordinates, wound as :func:`_contour` says): the PDF and EPS writers' common path."""
    corners = _contour(shape)
    segments: list[OutlineSegment] = []
    for arc_start, corner, arc_end, r in corners[1:] + corners[:1]:
        curve = None
        if r > 0:
            c1 = (
                arc_start[0] + _KAPPA * (corner[0] - arc_start[0]),
                arc_start[1] + _KAPPA * (corner[1] - arc_start[1]),
            )
            c2 = (
                arc_end[0] + _KAPPA * (corner[0] - arc_end[0]),
                arc_end[1] + _KAPPA * (corner[1] - arc_end[1]),
            )
            curve = (c1, c2, arc_end)
        segments.append((arc_start, curve))
    return corners[0][2], segments


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def svg_path_data(shapes: Iterator[RoundedRect]) -> str:
    """SVG path data (absolute commands) for ``shapes``."""
    parts: list[str] = []
    for shape in shapes:
        if shape.radii == (0.0, 0.0, 0.0, 0.0) and not shape.hole:
            parts.append(
                f"M{_num(shape.x)} {_num(shape.y)}h{_num(shape.w)}v{_num(shape.h)}h{_num(-shape.w)}z"
            )
            continue
        corners = _contour(shape)
        sweep = "0" if shape.hole else "1"
        current = corners[0][2]
        parts.append(f"M{_num(current[0])} {_num(current[1])}")
        for arc_start, _, arc_end, r in corners[1:] + corners[:1]:
            if arc_start != current:  # a full-radius side has no straight part
                parts.append(f"L{_num(arc_start[0])} {_num(arc_start[1])}")
            if r > 0:
                parts.append(
                    f"A{_num(r)} {_num(r)} 0 0 {sweep} {_num(arc_end[0])} {_num(arc_end[1])}"
                )
            current = arc_end
        parts.append("z")
    return "".join(parts)


def _logo_mime(logo: bytes) -> str:
    if logo.startswith(b"\x89PNG"):
        return "image/png"
    if logo.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "image/svg+xml"


def _hex(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def render_svg(
    layout: QRLayout, quiet_zone: int, size: int, paint: Paint, logo: bytes | None
) -> bytes:
    """An SVG ``size`` x ``size`` (px) whose viewBox is in modules, quiet zone included.

    The logo, if any, is embedded as the original bytes in a data URI; the gateway has
    sanitised SVG logos already.
    """
    n = layout.n
    total = n + 2 * quiet_zone
    q = -quiet_zone
    rendering = (
        ' shape-rendering="crispEdges"'
        if layout.dot_style == "square" and layout.corner_style == "square"
        else ""
    )
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1" width="{size}" height="{size}" viewBox="{q} {q} {total} {total}">',
    ]
    if not paint.transparent:
        out.append(
            f'<rect x="{q}" y="{q}" width="{total}" height="{total}" fill="{_hex(paint.bg)}"/>'
        )
    if paint.gradient is not None:
        out.append(_svg_gradient(paint.gradient, n))
    for ink, shapes in ink_groups(layout, paint):
        if ink is not None:
            fill = _hex(ink)
        elif paint.gradient is not None:
            fill = f"url(#{_SVG_GRADIENT_ID})"
        else:
            fill = _hex(paint.fg)
        out.append(f'<path fill="{fill}"{rendering} d="{svg_path_data(iter(shapes))}"/>')
    if logo is not None and layout.logo is not None:
        box = layout.logo
        if paint.logo_plate is not None:
            out.append(
                f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
                f'height="{_num(box.h)}" fill="{_hex(paint.logo_plate)}"/>'
            )
        uri = f"data:{_logo_mime(logo)};base64,{base64.b64encode(logo).decode('ascii')}"
        out.append(
            f'<image x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
            f'height="{_num(box.h)}" preserveAspectRatio="xMidYMid meet" '
            f'href="{uri}" xlink:href="{uri}"/>'
        )
    out.append("</svg>\n")
    return "".join(out).encode("utf-8")


_SVG_GRADIENT_ID: Final = "qrforge-modules"


def _svg_gradient(gradient: GradientPaint, n: int) -> str:
    """A real SVG gradient in the viewBox's module units (userSpaceOnUse), the geometry the
    verifying raster uses (see qr_paint.GradientPaint)."""
    stops = "".join(
        f'<stop offset="{_num(offset)}" stop-color="{_hex(color)}"/>'
        for offset, color in zip(gradient.offsets(), gradient.stops, strict=True)
    )
    if gradient.type == "radial":
        c, r = _num(n / 2), _num(gradient.radius(n))
        return (
            f'<defs><radialGradient id="{_SVG_GRADIENT_ID}" gradientUnits="userSpaceOnUse" '
            f'cx="{c}" cy="{c}" r="{r}" fx="{c}" fy="{c}">{stops}</radialGradient></defs>'
        )
    (x0, y0), (x1, y1) = gradient.linear_ends(n)
    return (
        f'<defs><linearGradient id="{_SVG_GRADIENT_ID}" gradientUnits="userSpaceOnUse" '
        f'x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x1)}" y2="{_num(y1)}">{stops}'
        "</linearGradient></defs>"
    )


def _pdf_gradient(
    gradient: GradientPaint, n: int, scale: float, offset: float, shift_y: float = 0.0
) -> Gradient:
    """A PDF shading pattern (axial or radial, exact stops, extended past its ends) in page
    points, the same geometry as the SVG's (``shift_y``: the code's square lower on the
    page, see render_pdf)."""
    colors: list[str] = [_hex(color) for color in gradient.stops]
    bounds = list(gradient.offsets()[1:-1]) or None
    if gradient.type == "radial":
        c = n / 2 * scale + offset
        radius = gradient.radius(n) * scale
        return RadialGradient(
            c,
            c + shift_y,
            0,
            c,
            c + shift_y,
            radius,
            colors,
            extend_before=True,
            extend_after=True,
            bounds=bounds,
        )
    (x0, y0), (x1, y1) = gradient.linear_ends(n)
    return LinearGradient(
        x0 * scale + offset,
        y0 * scale + offset + shift_y,
        x1 * scale + offset,
        y1 * scale + offset + shift_y,
        colors,
        extend_before=True,
        extend_after=True,
        bounds=bounds,
    )


def _pdf_path(
    path: PaintedPath, shape: RoundedRect, scale: float, offset: float, shift_y: float = 0.0
) -> None:
    def pt(p: Point) -> Point:
        return p[0] * scale + offset, p[1] * scale + offset + shift_y

    start, segments = outline(shape)
    path.move_to(*pt(start))
    for line_end, curve in segments:
        path.line_to(*pt(line_end))
        if curve is not None:
            c1, c2, end = curve
            path.curve_to(*pt(c1), *pt(c2), *pt(end))
    path.close()


@dataclass(frozen=True, slots=True)
class PdfFrame:
    """A page larger than the code (see render_pdf): its size (pt), where the code's square
    goes (top-left, pt) and what draws the rest."""

    page: tuple[int, int]
    origin: tuple[float, float]
    draw: Callable[[FPDF], None]


def render_pdf(
    layout: QRLayout,
    quiet_zone: int,
    size: int,
    paint: Paint,
    logo: bytes | None,
    *,
    frame: PdfFrame | None = None,
) -> bytes:
    """A one-page PDF of ``size`` x ``size`` pt: vector modules, the logo as an RGBA raster.

    With ``frame``, the page is ``frame.page`` and the code's ``size`` square sits at
    ``frame.origin`` (top-left, pt), after ``frame.draw`` has drawn the frame on the page.
    """
    n = layout.n
    scale = size / (n + 2 * quiet_zone)
    origin_x, shift_y = (0.0, 0.0) if frame is None else frame.origin
    # The square's left edge and the modules' offset in it are one number (x and y alike),
    # the square's vertical move another.
    offset = origin_x + quiet_zone * scale
    shift_y -= origin_x
    page = (size, size) if frame is None else frame.page
    pdf = FPDF(unit="pt", format=page)
    pdf.set_creation_date(_PDF_EPOCH)
    pdf.set_producer("QRForge")
    pdf.set_margin(0)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    if frame is not None:
        frame.draw(pdf)
    if not paint.transparent:
        pdf.set_fill_color(*paint.bg)
        pdf.rect(origin_x, origin_x + shift_y, size, size, style="F")
    for ink, shapes in ink_groups(layout, paint):
        path = PaintedPath()
        path.style.paint_rule = PathPaintRule.FILL_NONZERO
        path.style.stroke_color = None
        for shape in shapes:
            _pdf_path(path, shape, scale, offset, shift_y)
        if ink is None and paint.gradient is not None:
            # No fill colour of its own: the path is filled with the pattern in use.
            with (
                pdf.use_pattern(_pdf_gradient(paint.gradient, n, scale, offset, shift_y)),
                pdf.drawing_context() as context,
            ):
                context.add_item(path, clone=False)
            continue
        path.style.fill_color = _hex(paint.fg if ink is None else ink)
        with pdf.drawing_context() as context:
            # clone=False: the path is built here and never touched again, and fpdf2's
            # defensive deep copy would cost ~80 % of the whole PDF.
            context.add_item(path, clone=False)
    if logo is not None and layout.logo is not None:
        box = layout.logo
        w_pt, h_pt = box.w * scale, box.h * scale
        px_scale = min(_PDF_LOGO_PX_PER_PT, _PDF_LOGO_MAX_PX / max(w_pt, h_pt))
        image = logo_rgba(logo, max(1, round(w_pt * px_scale)), max(1, round(h_pt * px_scale)))
        x, y = offset + box.x * scale, offset + box.y * scale + shift_y
        if paint.logo_plate is not None:
            pdf.set_fill_color(*paint.logo_plate)
            pdf.rect(x, y, w_pt, h_pt, style="F")
        pdf.image(image, x=x, y=y, w=w_pt, h=h_pt)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()
