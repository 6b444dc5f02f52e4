"""QR layouts -> EPS (Encapsulated PostScript, EPSF-3.0) for print shops: vector, like the PDF.

The page is ``size`` x ``size`` pt with that exact ``%%BoundingBox``. The shapes are the PDF's
(:func:`~services.render.qr_vector.layout_shapes`, quarter arcs as cubic Beziers), written in
module coordinates: the body flips PostScript's y-up space once (translate + scale) instead of
converting every point. As in the PDF, every module and finder goes into one path filled with
the non-zero rule (holes wound the other way), so touching shapes show no seams.

A logo is embedded as an RGB raster (~288 dpi, at most 1024 px a side, as in the PDF),
flattened onto ``bg_color``: PostScript has no portable alpha channel, and the area under the
logo is cleared to the background anyway, so the result looks the same as the SVG's and
PDF's. SVG logos are rasterised too (their vector content is not converted to PostScript).
Its data is Flate-compressed behind ``ReusableStreamDecode``, which reads the ASCII85 text to
its end marker before the image is drawn (an ``image`` reading ``currentfile`` straight
through a Flate filter can stop short of the marker and leave it to be parsed as code);
both are PostScript LanguageLevel 3, declared as such. A gradient is a real smooth shading
(``shfill``, axial or radial, with a stitching function for three colours) clipped to the
modules' path, also Level 3. Without either the file needs Level 2.
"""

from __future__ import annotations

import base64
import zlib
from typing import Final

import numpy as np
from PIL import Image

from services.render.colors import RGB
from services.render.logo_image import logo_rgba
from services.render.qr_geometry import QRLayout, RoundedRect
from services.render.qr_paint import GradientPaint, Paint
from services.render.qr_vector import ink_groups, outline

# Embedded logo raster resolution, the same as the PDF's.
_LOGO_PX_PER_PT: Final = 4
_LOGO_MAX_PX: Final = 1024
# ASCII85 line length; every line starts with a space so that none starts with "%", which a
# DSC parser (print-shop tools read the comments) could take for a comment.
_A85_LINE: Final = 75

# Short names for the path operators keep version-40 files small; all live in a private
# dictionary so nothing leaks into the including document's userdict.
_PROLOG: Final = """%%BeginProlog
/QRForgeDict 8 dict def
QRForgeDict begin
/m /moveto load def
/l /lineto load def
/c /curveto load def
/h /closepath load def
/re { 4 2 roll moveto 1 index 0 rlineto 0 exch rlineto neg 0 rlineto closepath } bind def
end
%%EndProlog
"""


def _num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _rgb(color: RGB) -> str:
    return " ".join(_num(channel / 255) for channel in color)


def _path(shapes: list[RoundedRect]) -> str:
    """``shapes`` as PostScript path operators in module coordinates."""
    parts: list[str] = []
    for shape in shapes:
        if shape.radii == (0.0, 0.0, 0.0, 0.0) and not shape.hole:
            parts.append(f"{_num(shape.x)} {_num(shape.y)} {_num(shape.w)} {_num(shape.h)} re")
            continue
        start, segments = outline(shape)
        parts.append(f"{_num(start[0])} {_num(start[1])} m")
        current = start
        for line_end, curve in segments:
            if line_end != current:  # a full-radius side has no straight part
                parts.append(f"{_num(line_end[0])} {_num(line_end[1])} l")
            current = line_end
            if curve is not None:
                parts.append(" ".join(f"{_num(x)} {_num(y)}" for x, y in curve) + " c")
                current = curve[2]
        parts.append("h")
    return "\n".join(parts)


def _shading(gradient: GradientPaint, n: int) -> str:
    """A shading dictionary in module coordinates: the SVG's and PDF's geometry and stops."""
    pieces = [
        f"<< /FunctionType 2 /Domain [0 1] /C0 [{_rgb(a)}] /C1 [{_rgb(b)}] /N 1 >>"
        for a, b in zip(gradient.stops, gradient.stops[1:], strict=False)
    ]
    if len(pieces) == 1:
        function = pieces[0]
    else:
        bounds = " ".join(_num(offset) for offset in gradient.offsets()[1:-1])
        encode = " ".join("0 1" for _ in pieces)
        function = (
            f"<< /FunctionType 3 /Domain [0 1] /Functions [{' '.join(pieces)}] "
            f"/Bounds [{bounds}] /Encode [{encode}] >>"
        )
    if gradient.type == "radial":
        c, r = _num(n / 2), _num(gradient.radius(n))
        kind, coords = 3, f"{c} {c} 0 {c} {c} {r}"
    else:
        (x0, y0), (x1, y1) = gradient.linear_ends(n)
        kind, coords = 2, f"{_num(x0)} {_num(y0)} {_num(x1)} {_num(y1)}"
    return (
        f"<< /ShadingType {kind} /ColorSpace /DeviceRGB /Coords [{coords}] "
        f"/Extend [true true] /Function {function} >>"
    )


def _logo_image(layout: QRLayout, scale: float, bg: RGB, logo: bytes) -> str:
    """PostScript drawing the logo's raster into its box (in the flipped module space)."""
    box = layout.logo
    assert box is not None
    w_pt, h_pt = box.w * scale, box.h * scale
    px_scale = min(_LOGO_PX_PER_PT, _LOGO_MAX_PX / max(w_pt, h_pt))
    width, height = max(1, round(w_pt * px_scale)), max(1, round(h_pt * px_scale))
    flat = Image.new("RGBA", (width, height), (*bg, 255))
    flat.alpha_composite(logo_rgba(logo, width, height))
    pixels = np.asarray(flat.convert("RGB"), dtype=np.uint8).tobytes()
    encoded = base64.a85encode(zlib.compress(pixels, 6)).decode("ascii")
    lines = [" " + encoded[i : i + _A85_LINE] for i in range(0, len(encoded), _A85_LINE)]
    return (
        # The filter reads the data that follows at once, so "def" comes after it.
        "/QRForgeLogo currentfile /ASCII85Decode filter /ReusableStreamDecode filter\n"
        + "\n".join(lines)
        + "~>\ndef\n"
        + f"gsave {_num(box.x)} {_num(box.y)} translate {_num(box.w)} {_num(box.h)} scale\n"
        + "/DeviceRGB setcolorspace\n"
        # Image row 0 at user y 0, which is the top in this flipped space.
        + f"<< /ImageType 1 /Width {width} /Height {height} /BitsPerComponent 8 "
        + f"/Decode [0 1 0 1 0 1] /ImageMatrix [{width} 0 0 {height} 0 0] "
        + "/DataSource QRForgeLogo /FlateDecode filter /Interpolate false >> image\n"
        + "grestore\n"
        + "QRForgeLogo closefile /QRForgeLogo null def\n"
    )


def render_eps(
    layout: QRLayout, quiet_zone: int, size: int, paint: Paint, logo: bytes | None
) -> bytes:
    """An EPSF-3.0 file of ``size`` x ``size`` pt: vector modules, the logo as an RGB raster."""
    total = layout.n + 2 * quiet_zone
    scale = size / total
    with_logo = logo is not None and layout.logo is not None
    header = (
        "%!PS-Adobe-3.0 EPSF-3.0\n"
        "%%Creator: QRForge\n"
        "%%Title: QR code\n"
        f"%%BoundingBox: 0 0 {size} {size}\n"
        f"%%HiResBoundingBox: 0 0 {size} {size}\n"
        f"%%LanguageLevel: {3 if with_logo or paint.gradient is not None else 2}\n"
        "%%Pages: 1\n"
        "%%EndComments\n"
    )
    body = [
        header,
        _PROLOG,
        "%%Page: 1 1\n",
        "QRForgeDict begin\ngsave\n",
        # y down, one unit per module, the origin at the symbol's first module.
        f"0 {size} translate {scale:.6f} {-scale:.6f} scale {quiet_zone} {quiet_zone} translate\n",
    ]
    if not paint.transparent:
        body.insert(4, f"{_rgb(paint.bg)} setrgbcolor 0 0 {size} {size} rectfill\n")
    for ink, shapes in ink_groups(layout, paint):
        if ink is None and paint.gradient is not None:
            shading = _shading(paint.gradient, layout.n)
            body += ["gsave newpath\n", _path(shapes), f"\nclip\n{shading} shfill\ngrestore\n"]
            continue
        color = paint.fg if ink is None else ink
        body += [f"{_rgb(color)} setrgbcolor newpath\n", _path(shapes), "\nfill\n"]
    if with_logo:
        assert logo is not None
        body.append(_logo_image(layout, scale, paint.logo_backdrop, logo))
    body.append("grestore\nend\nshowpage\n%%Trailer\n%%EOF\n")
    return "".join(body).encode("ascii")
