"""Barcodes as vector files: the very rectangles the verified raster was drawn from, as SVG (2D
symbols; linear ones keep barcode_images' SVG), PDF and EPS.

Units are the raster's pixels: the PDF page and the EPS bounding box are ``width`` x ``height``
pt, so one module is ``module_px`` pt (a print shop scales the file to the X-dimension it
needs). Human-readable text is drawn as glyph outlines (frame_text, the raster's font), so the
files need no font.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule

from services.render.barcode_layout import TextItem
from services.render.frame_text import PathCommand, postscript_path, text_outline_at

Rect = tuple[int, int, int, int]  # x, y, w, h in px, y down
# A fixed creation date keeps the bytes of a stored barcode's PDF stable (as the QR PDF's).
_PDF_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BarcodeDrawing:
    """What to fill black on a white ``width`` x ``height`` page."""

    width: int
    height: int
    rects: Sequence[Rect]
    texts: Sequence[TextItem] = ()

    def text_commands(self) -> list[PathCommand]:
        commands: list[PathCommand] = []
        for item in self.texts:
            commands += text_outline_at(item.text, item.center_x, item.baseline, item.size)
        return commands


def render_svg(drawing: BarcodeDrawing) -> bytes:
    d = "".join(f"M{x} {y}h{w}v{h}h{-w}z" for x, y, w, h in drawing.rects)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{drawing.width}" '
        f'height="{drawing.height}" viewBox="0 0 {drawing.width} {drawing.height}">'
        f'<rect width="{drawing.width}" height="{drawing.height}" fill="#ffffff"/>'
        f'<path fill="#000000" shape-rendering="crispEdges" d="{d}"/></svg>\n'
    ).encode()


def render_pdf(drawing: BarcodeDrawing) -> bytes:
    """A one-page PDF of ``width`` x ``height`` pt (fpdf2 draws y down, as the raster)."""
    pdf = FPDF(unit="pt", format=(drawing.width, drawing.height))
    pdf.set_creation_date(_PDF_EPOCH)
    pdf.set_producer("QRForge")
    pdf.set_margin(0)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(0, 0, drawing.width, drawing.height, style="F")
    path = PaintedPath()
    path.style.paint_rule = PathPaintRule.FILL_NONZERO
    path.style.stroke_color = None
    path.style.fill_color = "#000000"
    for x, y, w, h in drawing.rects:
        path.rectangle(x, y, w, h)
    for op, values in drawing.text_commands():
        if op == "M":
            path.move_to(*values)
        elif op == "L":
            path.line_to(*values)
        elif op == "C":
            path.curve_to(*values)
        else:
            path.close()
    with pdf.drawing_context() as context:
        # clone=False: the path is never touched again (fpdf2's deep copy is most of the cost).
        context.add_item(path, clone=False)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


def render_eps(drawing: BarcodeDrawing, title: str) -> bytes:
    """An EPSF-3.0 file with a ``width`` x ``height`` pt bounding box; PostScript Level 2."""
    w, h = drawing.width, drawing.height
    body = [
        "%!PS-Adobe-3.0 EPSF-3.0\n"
        "%%Creator: QRForge\n"
        f"%%Title: {title}\n"
        f"%%BoundingBox: 0 0 {w} {h}\n"
        f"%%HiResBoundingBox: 0 0 {w} {h}\n"
        "%%LanguageLevel: 2\n"
        "%%Pages: 1\n"
        "%%EndComments\n"
        "%%Page: 1 1\n"
        "gsave\n"
        f"1 setgray 0 0 {w} {h} rectfill\n"
        # y down, in px, as the raster.
        f"0 {h} translate 1 -1 scale\n"
        "0 setgray\n"
    ]
    # rectfill takes many rectangles at once: x y w h ... as one array.
    for start in range(0, len(drawing.rects), 500):
        chunk = drawing.rects[start : start + 500]
        numbers = " ".join(f"{x} {y} {rw} {rh}" for x, y, rw, rh in chunk)
        body.append(f"[{numbers}] rectfill\n")
    commands = drawing.text_commands()
    if commands:
        body.append(f"newpath\n{postscript_path(commands)}\nfill\n")
    body.append("grestore\nshowpage\n%%Trailer\n%%EOF\n")
    return "".join(body).encode("ascii")
