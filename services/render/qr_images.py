"""render_qr: a QRSpec -> a verified PNG, JPEG, WebP, SVG, PDF or EPS.

Steps: validate -> colour pre-checks -> encode -> lay out (logo pre-check) -> draw -> decode
the drawn raster back -> return. Under ``fit: auto`` a design that fails the logo pre-check or
the decode is fitted instead of refused (see :func:`render_qr`). Nothing leaves this module
undecoded: a plain PNG is
verified on the module grid read back from its own 1-bit rows, a styled PNG on its own
canvas decimated to 3-5 px per module, a JPEG or WebP (the styled PNG's canvas, encoded) on
its own file decoded back and reduced to 3-5 px per module, an SVG, PDF or EPS on a raster of
the same layout drawn by the same sprite code at 4 px per module.

A design of one ink is drawn in palette colours (coverage levels); eye colours make it an RGB
raster. A transparent background is judged and verified as white (the surface a code is
usually shown on) and written with alpha (tRNS for palette PNGs, RGBA otherwise); JPEG has no
alpha, so it is simply drawn on white.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from services.render.colors import RGB, decoder_gray, parse_hex, relative_luminance
from services.render.frame_vector import framed_eps, framed_svg, pdf_frame
from services.render.logo_image import logo_aspect, logo_digest, logo_indexed
from services.render.png_writer import png_from_indexed, png_from_rgb, png_from_row_runs
from services.render.qr_eps import render_eps
from services.render.qr_frame import (
    FrameBox,
    frame_box,
    frame_colors,
    framed_pixels,
    is_framed,
    opaque_frame,
    validate_frame,
)
from services.render.qr_geometry import QRLayout, build_layout
from services.render.qr_matrix import QRMatrix, encode_qr, qr_version
from services.render.qr_paint import GradientPaint, Paint
from services.render.qr_raster import (
    COLORIZED_IMAGE_MAX_SIDE,
    LEVELS,
    Placement,
    PlainRows,
    colorize,
    colorized_image,
    compose_levels,
    ink_canvas,
    ink_image,
    level_alpha,
    level_palette,
    logo_pixel_rect,
    place,
    plain_rows,
)
from services.render.qr_vector import PdfFrame, render_pdf, render_svg
from services.render.raster_encoding import decoded_gray, encode_raster, encode_rgb, pixels_gray
from services.render.scan_check import (
    check_colors,
    check_ink,
    check_logo,
    inverted_refused,
    verify_qr,
)
from services.render.specs import (
    CONTENT_TYPES,
    CORNER_STYLES,
    DOT_STYLES,
    EC_LEVELS,
    ENCODED_RASTER_FORMATS,
    EYE_INNER_STYLES,
    FIT_MODES,
    GRADIENT_STOPS,
    GRADIENT_TYPES,
    MAX_GRADIENT_ANGLE,
    MAX_LOGO_SIZE,
    MAX_QR_SIZE,
    MAX_QUIET_ZONE,
    MIN_LOGO_SIZE,
    MIN_QR_SIZE,
    QR_FORMATS,
    TRANSPARENT,
    FitWarning,
    Frame,
    QRSpec,
    RenderedImage,
)
from services.runtime.errors import ApiError

# Pixels per module of the raster that verifies an SVG/PDF: enough for the sprites to keep
# their shapes (rounded finders, small dots) as the vector draws them.
_VERIFY_MODULE_PX: Final = 4
# A styled PNG is verified on its own canvas, decimated to at least this many px per module:
# every style decodes reliably from 3 px up, and decoding cost grows with the pixel count
# (~110 us at 3 px for version 6, ~300 us at 5 px).
_DECIMATED_MODULE_PX: Final = 3
# Quiet zone kept around verification rasters (readers need none from a clean image, but a
# real one must not be judged without the margin it will have).
_VERIFY_MAX_QUIET: Final = 4
# Palette room left for the logo after the coverage levels.
_LOGO_COLORS: Final = 256 - LEVELS
_VECTOR_WRITERS: Final = {"svg": render_svg, "pdf": render_pdf, "eps": render_eps}
_UNSCANNABLE: Final = "UNSCANNABLE_DESIGN"
_WHITE: Final = (255, 255, 255)
# Fitting shrinks a logo by this much per try: fine enough that the logo kept is the largest
# that scans to the hundredth (what logo_size is given in), at most 30 cheap tries.
_LOGO_STEP: Final = 0.01
_INVERTED_WARNING: Final = FitWarning(
    "INVERTED_COLORS",
    "light modules on a dark background: phone camera apps read it, some older readers do not",
)


def render_qr(spec: QRSpec) -> RenderedImage:
    """Draw ``spec`` and return it only once it decodes back to ``spec.payload`` exactly.

    Under ``fit: auto`` a design that would not scan is fitted: the level is raised (up to H)
    unless the client chose it, then the logo is shrunk to the largest size that scans at the
    last level tried (the modules under it, plus a margin, are always cleared), and
    light-on-dark colours are accepted; each change comes back as a warning. Under
    ``fit: strict`` the same designs are refused, as is anything fitting could not save.

    Raises ApiError: INVALID_PARAMETER (a field out of range, or a PNG ``size`` too small
    for one pixel per module), INVALID_CONTENT (empty payload), DATA_TOO_LONG,
    UNSCANNABLE_DESIGN (low contrast in any mode; inverted colours, logo too big or failed
    decode under strict, or when no fitting scans).
    """
    _validate(spec)
    if is_framed(spec.design.frame):
        return _framed(spec)
    return _render_validated(spec)


def plan_qr(spec: QRSpec) -> RenderedImage:
    """What :func:`render_qr` returns for ``spec``, without the image (``data`` empty): the
    version, level, logo size and warnings a code is stored with, or the same ApiError.

    A plain PNG (square modules, one ink, no logo, no frame) is only encoded: its fitting
    cannot depend on its verification, which reads back the symbol's own module grid at one
    pixel per module -- the encoder's matrix exactly, which always decodes -- so the level is
    never raised for it and what is left to decide (colours, version, room for the modules)
    comes before any drawing. Every other design is drawn and verified in full, since a
    decode that fails there changes the outcome (level raised, logo shrunk, refused).
    """
    if spec.format != "png" or not spec.design.is_plain or is_framed(spec.design.frame):
        return replace(render_qr(spec), data=b"")
    _validate(spec)
    _, inverted = _paint(spec)
    if inverted and spec.fit == "strict":
        raise inverted_refused()
    version = qr_version(spec.payload, spec.error_correction)
    _placement(spec, 17 + 4 * version)
    return RenderedImage(
        data=b"",
        content_type=CONTENT_TYPES[spec.format],
        version=version,
        error_correction=spec.error_correction,
        warnings=(_INVERTED_WARNING,) if inverted else (),
    )


def _render_validated(spec: QRSpec, frame: PdfFrame | _RasterFrame | None = None) -> RenderedImage:
    design = spec.design
    paint, inverted = _paint(spec)
    if inverted and spec.fit == "strict":
        raise inverted_refused()
    logo_size = design.logo_size if design.logo is not None else None
    data, matrix, applied_logo = _fitted(spec, paint, inverted, logo_size, frame)

    warnings: list[FitWarning] = [_INVERTED_WARNING] if inverted else []
    if matrix.error_correction != spec.error_correction:
        warnings.append(
            FitWarning(
                "LEVEL_RAISED",
                f"error correction raised from {spec.error_correction} to "
                f"{matrix.error_correction} so that the code scans with this design",
            )
        )
    if logo_size is not None and applied_logo != logo_size:
        warnings.append(
            FitWarning(
                "LOGO_REDUCED",
                f"logo_size reduced from {logo_size:g} to {applied_logo:g}, the largest that "
                f"scans at error correction level {matrix.error_correction}",
            )
        )
    return RenderedImage(
        data=data,
        content_type=CONTENT_TYPES[spec.format],
        version=matrix.version,
        error_correction=matrix.error_correction,
        logo_size=applied_logo or 0.0,
        warnings=tuple(warnings),
    )


_FRAMED_RASTERS: Final = ("png", "jpeg", "webp")
_FRAMED_VECTORS: Final = {"svg": framed_svg, "eps": framed_eps}
_FRAMED_FORMATS: Final = (*_FRAMED_RASTERS, "svg", "pdf", "eps")


@dataclass(frozen=True, slots=True)
class _RasterFrame:
    """A framed raster being drawn: the frame around the code, the file format written and
    whether it keeps an alpha channel."""

    fmt: str  # png | jpeg | webp
    frame: Frame
    box: FrameBox
    color: RGB
    text_color: RGB
    alpha: bool


def _framed(spec: QRSpec) -> RenderedImage:
    """A raster: the code drawn (and fitted) at the frame's code square as pixels, put in its
    frame (see qr_frame), encoded as ``spec.format`` and verified again on the final file.
    A vector: the code's own vector file at its square, put in a vector frame, once the
    framed PNG of the same geometry has decoded."""
    frame = spec.design.frame
    assert frame is not None
    validate_frame(frame)
    if spec.format not in _FRAMED_FORMATS:
        raise _invalid("design.frame", f"a frame is drawn in {', '.join(_FRAMED_FORMATS)}")
    framed_vector = _FRAMED_VECTORS.get(spec.format)
    if spec.format not in _FRAMED_RASTERS:
        _framed(replace(spec, format="png"))
    design = spec.design
    gradient = design.gradient
    ink = design.fg_color if gradient is None else gradient.colors[0]
    color, text_color = frame_colors(frame, parse_hex(ink))
    box = frame_box(frame.style, spec.size)
    code_spec = replace(spec, format="png", size=box.code_px, design=replace(design, frame=None))
    if spec.format == "pdf":
        page = pdf_frame(frame, box, color, text_color)
        return _code_in_frame(spec, replace(code_spec, format="pdf"), page)
    if framed_vector is not None:
        code = _code_in_frame(spec, replace(code_spec, format=spec.format))
        data = framed_vector(code.data, frame, box, color, text_color)
        return replace(code, data=data)
    # JPEG has no alpha channel: a transparent background is drawn white.
    alpha = design.bg_color == TRANSPARENT and spec.format != "jpeg"
    target = _RasterFrame(spec.format, frame, box, color, text_color, alpha)
    code = _code_in_frame(spec, code_spec, target)
    return replace(code, content_type=CONTENT_TYPES[spec.format])


def _framed_raster(
    spec: QRSpec,
    matrix: QRMatrix,
    paint: Paint,
    inverted: bool,
    logo_size: float | None,
    target: _RasterFrame,
) -> bytes:
    """The code of ``spec`` (the frame's code square) drawn straight to pixels and verified
    as its own PNG would be, put in its frame, encoded as ``target.fmt`` and verified again
    on the final file (the code's PNG is never written nor decoded)."""
    box = target.box
    if spec.design.is_plain:
        placement = _placement(spec, matrix.size)
        _verify_plain(spec, matrix, placement, plain_rows(matrix, placement), paint, inverted)
        layout, digest = _layout(spec, matrix, None)
        code = _code_image(spec, layout, placement, paint, digest)
    else:
        layout, digest = _layout(spec, matrix, logo_size)
        placement = _placement(spec, layout.n)
        if _colorized_in_place(paint, placement):
            # Drawn straight into its (opaque) frame: no image of the code alone.
            framed = opaque_frame(target.frame, box, target.color, target.text_color)
            into = (framed, box.code_x, box.code_y)
            _code_image(spec, layout, placement, paint, digest, inverted, into=into)
            code = None
        else:
            code = _code_image(spec, layout, placement, paint, digest, inverted)
    if code is not None:
        framed = framed_pixels(
            code, target.frame, box, target.color, target.text_color, alpha=target.alpha
        )
    pixels = np.asarray(framed)
    if target.fmt == "png":
        data = png_from_rgb(pixels)
        gray = pixels_gray(framed, placement.module_px, _DECIMATED_MODULE_PX)
    else:
        data = encode_rgb(pixels, target.fmt, many_colors=True)
        gray = decoded_gray(data, placement.module_px, _DECIMATED_MODULE_PX)
    level = matrix.error_correction
    try:
        verify_qr(gray, spec.payload, level, inverted=inverted)
    except ApiError:
        # At 3 px per module, a box's dark border beside the quiet zone can upset zxing's
        # local binariser (about 1 framed design in 100); what must decode is the file as
        # delivered, so it is read again at full resolution before the design is refused.
        full = decoded_gray(data, placement.module_px, placement.module_px)
        verify_qr(full, spec.payload, level, inverted=inverted)
    return data


def _code_image(
    spec: QRSpec,
    layout: QRLayout,
    placement: Placement,
    paint: Paint,
    digest: bytes | None,
    inverted: bool | None = None,
    *,
    into: tuple[Image.Image, int, int] | None = None,
) -> Image.Image:
    """The pixels the PNG of ``spec`` would hold (see :func:`_draw`) as an image, RGB when
    opaque, RGBA over a transparent background; verified as :func:`_styled_png` verifies
    them unless ``inverted`` is None (a plain design, verified on its module grid). With
    ``into`` (image, x, y), when :func:`_colorized_in_place`: drawn in that image at (x, y),
    which is returned.

    Two decodes, as when the code was written as a PNG: a single one of the framed image at
    3 px per module accepted designs whose frame happened to help zxing at that scale, and
    which zxing and zbar then missed at full size (a 300 px banner-top radial gradient)."""
    step = max(1, placement.module_px // _DECIMATED_MODULE_PX)
    level = layout.matrix.error_correction
    if not paint.single_ink:
        if _colorized_in_place(paint, placement):
            canvas, palette = _compose(spec, layout, placement, paint.logo_backdrop, digest)
            ink = ink_image(layout, placement, paint)
            target, x, y = (None, 0, 0) if into is None else into
            image = colorized_image(canvas, palette, ink, paint.bg, into=target, at=(x, y))
            if inverted is not None:
                sample = _nearest_samples(image, step, (x, y, placement.canvas))
                verify_qr(_rgb_gray(sample), spec.payload, level, inverted=inverted)
            return image
        pixels = _rgb(spec, layout, placement, paint, digest, transparent=paint.transparent)
        if inverted is not None:
            _verify_rgb(spec, pixels, step, level, inverted)
        return Image.fromarray(pixels, "RGBA" if paint.transparent else "RGB")
    canvas, palette = _indexed(spec, layout, placement, paint, digest)
    if inverted is not None:
        _verify_indexed(spec, canvas, palette, step, level, inverted)
    indexed = Image.frombuffer("P", (canvas.shape[1], canvas.shape[0]), canvas, "raw", "P", 0, 1)
    if not paint.transparent:
        indexed.putpalette(palette.tobytes())
        return indexed.convert("RGB")
    colors = np.full((len(palette), 4), 255, dtype=np.uint8)
    colors[:, :3] = palette
    if spec.design.is_plain:
        colors[0, 3] = 0  # the 1-bit PNG's tRNS: the background, in its own colour
    else:
        colors[:LEVELS, :3] = paint.fg  # straight alpha, as _styled_png writes it
        colors[:LEVELS, 3] = level_alpha()
    indexed.putpalette(colors.tobytes(), "RGBA")
    return indexed.convert("RGBA")


def _colorized_in_place(paint: Paint, placement: Placement) -> bool:
    """True when :func:`_code_image` colours the code as a Pillow image (see
    qr_raster.colorized_image), and can do so inside a frame."""
    return (
        not paint.single_ink
        and not paint.transparent
        and placement.canvas <= COLORIZED_IMAGE_MAX_SIDE
    )


def _nearest_samples(
    image: Image.Image, step: int, square: tuple[int, int, int] | None = None
) -> npt.NDArray[np.uint8]:
    """``np.asarray(image)[step // 2 :: step, step // 2 :: step]`` (as _styled_png samples
    its array) without converting the whole image, or the same of the ``square`` (x, y,
    side) of it: Pillow's nearest-pixel affine transform reads source pixel
    floor(step * (x + 0.5) + offset) for output pixel x."""
    x, y, side = (0, 0, image.width) if square is None else square
    if step == 1 and square is None:
        return np.asarray(image)
    half = step // 2
    count = (side - half + step - 1) // step
    offset = half - step / 2 + 0.25
    sampled = image.transform(
        (count, count),
        Image.Transform.AFFINE,
        (step, 0, x + offset, 0, step, y + offset),
        Image.Resampling.NEAREST,
    )
    return np.asarray(sampled)


def _code_in_frame(
    spec: QRSpec, code_spec: QRSpec, frame: PdfFrame | _RasterFrame | None = None
) -> RenderedImage:
    """The code of a framed ``spec`` drawn at its square; a square too small for the code
    is refused naming the size asked for (a box's border takes from it)."""
    try:
        return _render_validated(code_spec, frame)
    except ApiError as error:
        if error.field != "size" or code_spec.size == spec.size:
            raise
        raise _invalid(
            "size",
            f"size {spec.size} px leaves {code_spec.size} px for the code inside the frame's "
            f"border: {error.message}",
        ) from None


def _paint(spec: QRSpec) -> tuple[Paint, bool]:
    """The design's inks, each checked against the background (see scan_check.check_ink),
    and whether they are light on dark. Every ink that meets the background is checked: the
    modules' (fg_color, or each gradient colour instead, since a gradient replaces it), then
    each eye colour given, all on the side of the background the modules are."""
    design = spec.design
    transparent = design.bg_color == TRANSPARENT
    fg = parse_hex(design.fg_color)
    bg = _WHITE if transparent else parse_hex(design.bg_color)
    gradient = None
    if design.gradient is None:
        inverted = check_colors(fg, bg)
        reference = fg
    else:
        stops = tuple(parse_hex(color) for color in design.gradient.colors)
        gradient = GradientPaint(design.gradient.type, stops, design.gradient.angle)
        reference = stops[0]
        for index, stop in enumerate(stops):
            check_ink(stop, bg, reference, f"design.gradient.colors[{index}]")
        inverted = relative_luminance(reference) >= relative_luminance(bg)
    eye = parse_hex(design.eye_color) if design.eye_color else None
    eye_inner = parse_hex(design.eye_inner_color) if design.eye_inner_color else None
    for color, field in ((eye, "design.eye_color"), (eye_inner, "design.eye_inner_color")):
        if color is not None and color != reference:
            check_ink(color, bg, reference, field)
    # JPEG has no alpha channel: a transparent background is drawn white (as it is judged).
    transparent = transparent and spec.format != "jpeg"
    paint = Paint(
        fg=fg,
        bg=bg,
        eye=eye,
        eye_inner=eye_inner,
        transparent=transparent,
        gradient=gradient,
        logo_plate=reference if inverted and design.logo is not None else None,
    )
    return paint, inverted


def _fitted(
    spec: QRSpec,
    paint: Paint,
    inverted: bool,
    logo_size: float | None,
    frame: PdfFrame | _RasterFrame | None = None,
) -> tuple[bytes, QRMatrix, float | None]:
    """The drawn and verified image, its matrix and the logo size drawn (see render_qr)."""
    first = encode_qr(spec.payload, spec.error_correction)
    if spec.fit == "strict":
        return _draw(spec, first, paint, inverted, logo_size, frame), first, logo_size
    try:
        return _draw(spec, first, paint, inverted, logo_size, frame), first, logo_size
    except ApiError as error:
        if error.code != _UNSCANNABLE:
            raise
        refusal, matrix = error, first

    if not spec.error_correction_requested:
        for level in EC_LEVELS[EC_LEVELS.index(spec.error_correction) + 1 :]:
            try:
                raised = encode_qr(spec.payload, level)
                return _draw(spec, raised, paint, inverted, logo_size, frame), raised, logo_size
            except ApiError as error:
                if error.code != _UNSCANNABLE:
                    # The payload no longer fits this level, or the larger version no longer
                    # fits the size: stay at the last level that did.
                    break
                refusal, matrix = error, raised

    if logo_size is None:
        raise refusal
    steps = round((logo_size - MIN_LOGO_SIZE) / _LOGO_STEP)
    for step in range(1, steps + 1):
        smaller = round(logo_size - step * _LOGO_STEP, 2)
        try:
            return _draw(spec, matrix, paint, inverted, smaller, frame), matrix, smaller
        except ApiError as error:
            if error.code != _UNSCANNABLE:
                raise
            refusal = error
    raise refusal


def _draw(
    spec: QRSpec,
    matrix: QRMatrix,
    paint: Paint,
    inverted: bool,
    logo_size: float | None,
    frame: PdfFrame | _RasterFrame | None = None,
) -> bytes:
    """``matrix`` drawn in ``spec``'s design with a logo of ``logo_size``, verified (a PDF on
    the page of a PdfFrame when given, a raster in its _RasterFrame)."""
    if isinstance(frame, _RasterFrame):
        return _framed_raster(spec, matrix, paint, inverted, logo_size, frame)
    if spec.format == "png" and spec.design.is_plain:
        return _plain_png(spec, matrix, paint, inverted)
    layout, digest = _layout(spec, matrix, logo_size)
    if spec.format == "png":
        return _styled_png(spec, layout, paint, digest, inverted)
    if spec.format in ENCODED_RASTER_FORMATS:
        return _encoded_raster(spec, layout, paint, digest, inverted)
    _verify_vector(spec, layout, paint, digest, inverted)
    if frame is not None:
        return render_pdf(layout, spec.quiet_zone, spec.size, paint, spec.design.logo, frame=frame)
    render = _VECTOR_WRITERS[spec.format]
    return render(layout, spec.quiet_zone, spec.size, paint, spec.design.logo)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=field)


def _validate(spec: QRSpec) -> None:
    design = spec.design
    if spec.format not in QR_FORMATS:
        raise _invalid("format", f"format must be one of {', '.join(QR_FORMATS)}")
    if not MIN_QR_SIZE <= spec.size <= MAX_QR_SIZE:
        raise _invalid("size", f"size must be {MIN_QR_SIZE}..{MAX_QR_SIZE}")
    if spec.error_correction not in EC_LEVELS:
        raise _invalid("error_correction", "error_correction must be L, M, Q or H")
    if spec.fit not in FIT_MODES:
        raise _invalid("design.fit", f"fit must be one of {', '.join(FIT_MODES)}")
    if not 0 <= spec.quiet_zone <= MAX_QUIET_ZONE:
        raise _invalid("quiet_zone", f"quiet_zone must be 0..{MAX_QUIET_ZONE}")
    if design.dot_style not in DOT_STYLES:
        raise _invalid("design.dot_style", f"dot_style must be one of {', '.join(DOT_STYLES)}")
    if design.corner_style not in CORNER_STYLES:
        raise _invalid(
            "design.corner_style", f"corner_style must be one of {', '.join(CORNER_STYLES)}"
        )
    if design.eye_inner_style and design.eye_inner_style not in EYE_INNER_STYLES:
        raise _invalid(
            "design.eye_inner_style",
            f"eye_inner_style must be one of {', '.join(EYE_INNER_STYLES)}",
        )
    gradient = design.gradient
    if gradient is not None:
        low, high = GRADIENT_STOPS
        if gradient.type not in GRADIENT_TYPES:
            raise _invalid(
                "design.gradient.type", f"gradient type must be one of {', '.join(GRADIENT_TYPES)}"
            )
        if not low <= len(gradient.colors) <= high:
            raise _invalid("design.gradient.colors", f"a gradient takes {low} to {high} colours")
        if not 0 <= gradient.angle <= MAX_GRADIENT_ANGLE:
            raise _invalid("design.gradient.angle", f"angle must be 0..{MAX_GRADIENT_ANGLE}")
    if design.logo is not None and not MIN_LOGO_SIZE <= design.logo_size <= MAX_LOGO_SIZE:
        raise ApiError(
            "LOGO_TOO_LARGE",
            f"logo_size must be {MIN_LOGO_SIZE}..{MAX_LOGO_SIZE}",
            field="design.logo_size",
        )


def _placement(spec: QRSpec, n: int) -> Placement:
    placement = place(n, spec.quiet_zone, spec.size)
    if placement is None:
        need = n + 2 * spec.quiet_zone
        raise _invalid(
            "size",
            f"size {spec.size} px is too small for {need} modules (version "
            f"{(n - 17) // 4} plus quiet zone); use size >= {need} or a smaller quiet_zone",
        )
    return placement


def _layout(
    spec: QRSpec, matrix: QRMatrix, logo_size: float | None
) -> tuple[QRLayout, bytes | None]:
    design = spec.design
    digest = None
    aspect = 1.0
    if design.logo is not None:
        digest = logo_digest(design.logo)
        aspect = logo_aspect(design.logo, digest)
    layout = build_layout(
        matrix, design.dot_style, design.corner_style, logo_size, aspect, design.eye_inner_style
    )
    check_logo(layout)
    return layout, digest


def _gray_lut(palette: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Palette index -> the grey zxing derives from that colour (see colors.decoder_gray)."""
    weights = np.array([306, 601, 117], dtype=np.int32)
    lut = np.full(256, 255, dtype=np.uint8)
    lut[: len(palette)] = (palette.astype(np.int32) @ weights + 0x200) >> 10
    return lut


def _plain_png(spec: QRSpec, matrix: QRMatrix, paint: Paint, inverted: bool) -> bytes:
    fg, bg = paint.fg, paint.bg
    placement = _placement(spec, matrix.size)
    rows = plain_rows(matrix, placement)
    alpha = (0,) if paint.transparent else ()
    data = png_from_row_runs(spec.size, rows.runs, bit_depth=1, palette=[bg, fg], alpha=alpha)
    _verify_plain(spec, matrix, placement, rows, paint, inverted)
    return data


def _verify_plain(
    spec: QRSpec,
    matrix: QRMatrix,
    placement: Placement,
    rows: PlainRows,
    paint: Paint,
    inverted: bool,
) -> None:
    # Square modules carry all their information at one pixel each, so the grid read back
    # from the PNG rows is decoded at 1 px per module (zxing's pure mode reads that exactly).
    fg, bg = paint.fg, paint.bg
    quiet = min(placement.origin // placement.module_px, _VERIFY_MAX_QUIET)
    n = matrix.size
    gray = np.full((n + 2 * quiet, n + 2 * quiet), decoder_gray(bg), dtype=np.uint8)
    gray[quiet : quiet + n, quiet : quiet + n][rows.modules] = decoder_gray(fg)
    # zxing's pure mode does not take its invert pass (it reads an empty text), so a
    # light-on-dark grid goes through the full detector, which reads it at 1 px per module.
    level = matrix.error_correction
    verify_qr(gray, spec.payload, level, pure=not inverted, inverted=inverted)


def _compose(
    spec: QRSpec, layout: QRLayout, placement: Placement, bg: RGB, digest: bytes | None
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Canvas indices and the (k, 3) palette of their logo part (indices from LEVELS up):
    the coverage levels' own colours are the paint's (see :func:`_pixels`)."""
    logo = spec.design.logo
    if logo is None:
        return compose_levels(layout, placement), np.zeros((LEVELS, 3), dtype=np.uint8)
    _, _, w, h = logo_pixel_rect(layout, placement)
    indexed = logo_indexed(logo, w, h, bg, LEVELS, _LOGO_COLORS, digest)
    canvas = compose_levels(layout, placement, indexed.indices)
    filler = np.zeros((LEVELS, 3), dtype=np.uint8)
    return canvas, np.concatenate((filler, indexed.palette))


def _indexed(
    spec: QRSpec, layout: QRLayout, placement: Placement, paint: Paint, digest: bytes | None
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """A single-ink design as canvas indices and their (k, 3) palette (coverage levels, then
    the logo's colours)."""
    canvas, palette = _compose(spec, layout, placement, paint.logo_backdrop, digest)
    palette[:LEVELS] = level_palette(paint.fg, paint.bg)
    return canvas, palette


def _rgb(
    spec: QRSpec,
    layout: QRLayout,
    placement: Placement,
    paint: Paint,
    digest: bytes | None,
    *,
    transparent: bool = False,
) -> npt.NDArray[np.uint8]:
    """A design of several inks (eye colours) as (H, W, 3) RGB over ``paint.bg``, or with
    ``transparent`` as (H, W, 4) RGBA over nothing."""
    canvas, palette = _compose(spec, layout, placement, paint.logo_backdrop, digest)
    ink = ink_canvas(layout, placement, paint)
    return colorize(canvas, palette, ink, None if transparent else paint.bg)


def _rgba(
    canvas: npt.NDArray[np.uint8], palette: npt.NDArray[np.uint8], fg: RGB
) -> npt.NDArray[np.uint8]:
    """A single-ink canvas over a transparent background as (H, W, 4) RGBA."""
    colors = np.full((len(palette), 4), 255, dtype=np.uint8)
    colors[:, :3] = palette
    colors[:LEVELS, :3] = fg
    colors[:LEVELS, 3] = level_alpha()
    rgba: npt.NDArray[np.uint8] = colors[canvas]
    return rgba


def _over_white(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(H, W, 4) straight-alpha RGBA composited over white, as (H, W, 3)."""
    alpha = rgba[..., 3:].astype(np.uint16)
    blended = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    rgb: npt.NDArray[np.uint8] = blended.astype(np.uint8)
    return rgb


def _rgb_gray(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The grey zxing derives from each pixel (see colors.decoder_gray)."""
    weights = np.array([306, 601, 117], dtype=np.int32)
    gray: npt.NDArray[np.uint8] = ((rgb.astype(np.int32) @ weights + 0x200) >> 10).astype(np.uint8)
    return gray


def _verify_rgb(
    spec: QRSpec, pixels: npt.NDArray[np.uint8], step: int, level: str, inverted: bool
) -> None:
    """Decode every ``step``-th pixel of an RGB (or RGBA, seen over white) drawing: the
    nearest-pixel decimation of what the PNG holds, to 3-5 px per module."""
    sample = pixels[step // 2 :: step, step // 2 :: step] if step > 1 else pixels
    if sample.shape[2] == 4:
        sample = _over_white(sample)
    verify_qr(_rgb_gray(sample), spec.payload, level, inverted=inverted)


def _verify_indexed(
    spec: QRSpec,
    canvas: npt.NDArray[np.uint8],
    palette: npt.NDArray[np.uint8],
    step: int,
    level: str,
    inverted: bool,
) -> None:
    """:func:`_verify_rgb` of a canvas of palette indices, through the palette's greys."""
    sample = canvas[step // 2 :: step, step // 2 :: step] if step > 1 else canvas
    verify_qr(_gray_lut(palette)[sample], spec.payload, level, inverted=inverted)


def _styled_png(
    spec: QRSpec, layout: QRLayout, paint: Paint, digest: bytes | None, inverted: bool
) -> bytes:
    placement = _placement(spec, layout.n)
    # Nearest-pixel decimation of the very pixels written to the PNG, to 3-5 px per module.
    step = max(1, placement.module_px // _DECIMATED_MODULE_PX)
    level = layout.matrix.error_correction
    if not paint.single_ink:
        pixels = _rgb(spec, layout, placement, paint, digest, transparent=paint.transparent)
        data = png_from_rgb(pixels)
        _verify_rgb(spec, pixels, step, level, inverted)
        return data
    canvas, palette = _indexed(spec, layout, placement, paint, digest)
    if paint.transparent:
        # Straight alpha: every level is the ink at the level's opacity; verified over white.
        written = palette.copy()
        written[:LEVELS] = paint.fg
        data = png_from_indexed(canvas, written, level_alpha())
    else:
        data = png_from_indexed(canvas, palette)
    _verify_indexed(spec, canvas, palette, step, level, inverted)
    return data


def _encoded_raster(
    spec: QRSpec, layout: QRLayout, paint: Paint, digest: bytes | None, inverted: bool
) -> bytes:
    """JPEG or WebP of the styled PNG's canvas (plain designs too: at a few ms of encoding
    the fast 1-bit path would save nothing), verified on the file's own decoded pixels."""
    placement = _placement(spec, layout.n)
    if paint.single_ink:
        canvas, palette = _indexed(spec, layout, placement, paint, digest)
        if paint.transparent:  # WebP (JPEG is never transparent, see _paint)
            data = encode_rgb(_rgba(canvas, palette, paint.fg), spec.format)
        else:
            data = encode_raster(canvas, palette, spec.format)
    else:
        pixels = _rgb(spec, layout, placement, paint, digest, transparent=paint.transparent)
        data = encode_rgb(pixels, spec.format, many_colors=paint.gradient is not None)
    gray = decoded_gray(data, placement.module_px, _DECIMATED_MODULE_PX)
    level = layout.matrix.error_correction
    verify_qr(gray, spec.payload, level, inverted=inverted)
    return data


def _verify_vector(
    spec: QRSpec, layout: QRLayout, paint: Paint, digest: bytes | None, inverted: bool
) -> None:
    px = _VERIFY_MODULE_PX
    quiet = min(spec.quiet_zone, _VERIFY_MAX_QUIET)
    placement = Placement(canvas=(layout.n + 2 * quiet) * px, module_px=px, origin=quiet * px)
    level = layout.matrix.error_correction
    if paint.single_ink:
        canvas, palette = _indexed(spec, layout, placement, paint, digest)
        gray = _gray_lut(palette)[canvas]
    else:
        gray = _rgb_gray(_rgb(spec, layout, placement, paint, digest))
    verify_qr(gray, spec.payload, level, inverted=inverted)
