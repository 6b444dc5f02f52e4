"""Framed SVG, EPS and PDF: the code's own vector file placed in its frame (a PDF: drawn on
the frame's page) (see qr_frame for the
geometry), the band and border as filled rectangles and the text as glyph outlines
(frame_text), so the file stays vector and needs no font."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule

from services.render.colors import RGB
from services.render.frame_text import postscript_path, svg_path, text_outline
from services.render.qr_frame import FrameBox
from services.render.qr_vector import PdfFrame
from services.render.specs import Frame


def _hex(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def _frame_rects(frame: Frame, box: FrameBox) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the frame colour's rectangles, in px, y down."""
    left, top, right, bottom = box.band
    if frame.style == "box":
        x, y, side = box.code_x, box.code_y, box.code_px
        return [
            (0, 0, box.width, y),  # above the code
            (0, y, x, side),  # left of it
            (x + side, y, box.width - x - side, side),  # right of it
            (left, top, right - left, bottom - top),  # the band (and the bottom border)
        ]
    return [(left, top, right - left, bottom - top)]


def framed_svg(code: bytes, frame: Frame, box: FrameBox, color: RGB, text_color: RGB) -> bytes:
    """``code`` (an SVG of ``box.code_px`` square from render_svg) nested in its frame."""
    inner = code.decode("utf-8").split("?>", 1)[1].strip()
    inner = inner.replace("<svg ", f'<svg x="{box.code_x}" y="{box.code_y}" ', 1)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1" width="{box.width}" height="{box.height}" '
        f'viewBox="0 0 {box.width} {box.height}">',
    ]
    fill = _hex(color)
    for x, y, w, h in _frame_rects(frame, box):
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}"/>')
    out.append(inner)
    if frame.text:
        path = svg_path(text_outline(frame.text, box.width, box.band))
        out.append(f'<path fill="{_hex(text_color)}" d="{path}"/>')
    out.append("</svg>\n")
    return "".join(out).encode("utf-8")


def _rgb(color: RGB) -> str:
    return " ".join(f"{channel / 255:.4f}" for channel in color)


def framed_eps(code: bytes, frame: Frame, box: FrameBox, color: RGB, text_color: RGB) -> bytes:
    """``code`` (an EPS of ``box.code_px`` square from render_eps) embedded in its frame as
    an encapsulated document (its own save/restore, showpage disabled), per the EPSF spec."""
    level = 3 if b"%%LanguageLevel: 3" in code else 2
    header = (
        "%!PS-Adobe-3.0 EPSF-3.0\n"
        "%%Creator: QRForge\n"
        "%%Title: QR code\n"
        f"%%BoundingBox: 0 0 {box.width} {box.height}\n"
        f"%%HiResBoundingBox: 0 0 {box.width} {box.height}\n"
        f"%%LanguageLevel: {level}\n"
        "%%Pages: 1\n"
        "%%EndComments\n"
        "%%Page: 1 1\n"
    )
    # The frame is drawn in px with y down, as the SVG's.
    body = [header, f"gsave\n0 {box.height} translate 1 -1 scale\n{_rgb(color)} setrgbcolor\n"]
    body += [f"{x} {y} {w} {h} rectfill\n" for x, y, w, h in _frame_rects(frame, box)]
    if frame.text:
        outline = postscript_path(text_outline(frame.text, box.width, box.band))
        body.append(f"{_rgb(text_color)} setrgbcolor newpath\n{outline}\nfill\n")
    body.append("grestore\n")
    # PostScript's y is up: the code's square starts code_y + code_px below the top.
    y = box.height - box.code_y - box.code_px
    body += [
        "/QRForgeSave save def\n/showpage {} def\n",
        f"{box.code_x} {y} translate\n",
        "%%BeginDocument: code.eps\n",
        code.decode("ascii"),
        "%%EndDocument\n",
        "QRForgeSave restore\n",
        "showpage\n%%Trailer\n%%EOF\n",
    ]
    return "".join(body).encode("ascii")


def pdf_frame(frame: Frame, box: FrameBox, color: RGB, text_color: RGB) -> PdfFrame:
    """The page of a framed PDF (1 px = 1 pt, y down as fpdf2 draws): render_pdf draws the
    code at its square and calls ``draw`` for the rest."""

    def draw(pdf: FPDF) -> None:
        pdf.set_fill_color(*color)
        for x, y, w, h in _frame_rects(frame, box):
            pdf.rect(x, y, w, h, style="F")
        if not frame.text:
            return
        path = PaintedPath()
        path.style.paint_rule = PathPaintRule.FILL_NONZERO
        path.style.stroke_color = None
        path.style.fill_color = _hex(text_color)
        for op, values in text_outline(frame.text, box.width, box.band):
            if op == "M":
                path.move_to(*values)
            elif op == "L":
                path.line_to(*values)
            elif op == "C":
                path.curve_to(*values)
            else:
                path.close()
        with pdf.drawing_context() as context:
            context.add_item(path, clone=False)

    return PdfFrame(page=(box.width, box.height), origin=(box.code_x, box.code_y), draw=draw)
