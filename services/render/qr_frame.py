"""Frames: a call-to-action ("SCAN ME") drawn around a verified code (rasters here; vectors in
frame_vector, same geometry).

Geometry (``size`` stays the image width, API.md "Designs v1.1"):

* ``banner-bottom`` / ``banner-top``: the code at its full ``size`` x ``size`` and a band of
  the frame colour ``round(0.18 x size)`` px high below / above it, the text centred in it;
* ``box``: a border of the frame colour ``max(2, round(0.04 x size))`` px wide around the
  code (drawn at ``size`` minus both borders) and the same band below it, so the image is
  ``size`` x ``size + band`` in every style.

The code keeps its own quiet zone (in ``bg_color``) between its modules and the frame. Text is
Pillow's built-in font (Aileron, the barcode text's), which draws printable ASCII: anything
else is refused before drawing. It is auto-sized: 55 % of the band's height, smaller when the
text would be wider than 90 % of the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from services.render.colors import RGB, contrast_ratio, parse_hex, relative_luminance
from services.render.specs import FRAME_STYLES, MAX_FRAME_TEXT, Frame
from services.runtime.errors import ApiError

BANNER_FRACTION: Final = 0.18
BOX_BORDER_FRACTION: Final = 0.04
MIN_BOX_BORDER: Final = 2
# The frame's text must be legible on its band: WCAG's 3:1 for large text.
MIN_TEXT_CONTRAST: Final = 3.0
TEXT_HEIGHT: Final = 0.55  # of the band
TEXT_WIDTH: Final = 0.9  # of the image
_BLACK: Final = (0, 0, 0)
_WHITE: Final = (255, 255, 255)
# What the built-in font draws: printable ASCII, space included.
FRAME_TEXT_CHARS: Final = frozenset(chr(code) for code in range(0x20, 0x7F))


@dataclass(frozen=True, slots=True)
class FrameBox:
    """Where things go in a framed image of ``width`` x ``height`` px: the code's square at
    (``code_x``, ``code_y``) of ``code_px``, the text band (left, top, right, bottom)."""

    width: int
    height: int
    code_x: int
    code_y: int
    code_px: int
    band: tuple[int, int, int, int]


def is_framed(frame: Frame | None) -> bool:
    return frame is not None and frame.style != "none"


def banner_height(size: int) -> int:
    return round(BANNER_FRACTION * size)


def frame_box(style: str, size: int) -> FrameBox:
    """The layout of a ``style`` frame around a code in an image ``size`` px wide."""
    band = banner_height(size)
    height = size + band
    if style == "banner-bottom":
        return FrameBox(size, height, 0, 0, size, (0, size, size, height))
    if style == "banner-top":
        return FrameBox(size, height, 0, band, size, (0, 0, size, band))
    border = max(MIN_BOX_BORDER, round(BOX_BORDER_FRACTION * size))
    return FrameBox(
        size, height, border, border, size - 2 * border, (0, size - border, size, height)
    )


def _invalid(field: str, message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=field)


def validate_frame(frame: Frame) -> None:
    """Refuse what cannot be drawn: an unknown style, text too long or outside the font."""
    if frame.style not in FRAME_STYLES:
        raise _invalid("design.frame.style", f"style must be one of {', '.join(FRAME_STYLES)}")
    if len(frame.text) > MAX_FRAME_TEXT:
        raise _invalid("design.frame.text", f"text must be at most {MAX_FRAME_TEXT} characters")
    unsupported = sorted(set(frame.text) - FRAME_TEXT_CHARS)
    if unsupported:
        raise _invalid(
            "design.frame.text",
            f"text may hold printable ASCII characters only, not {unsupported[0]!r}",
        )


def frame_colors(frame: Frame, fg: RGB) -> tuple[RGB, RGB]:
    """The band's colour (default: the code's ink) and the text's (default: black or white,
    whichever reads better on the band), the text checked against the band."""
    color = parse_hex(frame.color) if frame.color else fg
    if frame.text_color:
        text = parse_hex(frame.text_color)
    else:
        text = _BLACK if relative_luminance(color) > 0.179 else _WHITE
    ratio = contrast_ratio(text, color)
    if frame.text and ratio < MIN_TEXT_CONTRAST:
        raise ApiError(
            "UNSCANNABLE_DESIGN",
            f"frame text_color has a contrast of {ratio:.2f}:1 with the frame color; "
            f"at least {MIN_TEXT_CONTRAST:g}:1 is needed for the text to be read",
            field="design.frame.text_color",
        )
    return color, text


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fitted_font(text: str, width: int, band_height: int) -> ImageFont.FreeTypeFont:
    size = max(1, round(TEXT_HEIGHT * band_height))
    font = _font(size)
    assert isinstance(font, ImageFont.FreeTypeFont)  # Pillow >= 10.1 ships the TrueType font
    length = font.getlength(text)
    if length > TEXT_WIDTH * width:
        font = _font(max(1, int(size * TEXT_WIDTH * width / length)))
        assert isinstance(font, ImageFont.FreeTypeFont)
    return font


def framed_pixels(
    code: Image.Image, frame: Frame, box: FrameBox, color: RGB, text_color: RGB, *, alpha: bool
) -> Image.Image:
    """``code`` (``box.code_px`` square; RGB when opaque, else RGBA) in its frame: with
    ``alpha`` as RGBA (the code's transparent background kept, the frame opaque), else as RGB
    over white (Pillow composites in C, ~20x faster than numpy here)."""
    if code.mode == "RGB" and not alpha:
        canvas = opaque_frame(frame, box, color, text_color)
        canvas.paste(code, (box.code_x, box.code_y))
        return canvas
    canvas = Image.new("RGBA", (box.width, box.height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    _draw_frame(draw, frame, box, (*color, 255), (*text_color, 255))
    canvas.paste(code, (box.code_x, box.code_y))
    if not alpha:
        # Every pixel is opaque unless the code's background is transparent (a JPEG of it).
        if code.mode == "RGBA" and np.asarray(code.getchannel("A")).min() < 255:
            white = Image.new("RGBA", canvas.size, (255, 255, 255, 255))
            canvas = Image.alpha_composite(white, canvas)
        canvas = canvas.convert("RGB")
    return canvas


def _draw_frame(
    draw: ImageDraw.ImageDraw,
    frame: Frame,
    box: FrameBox,
    color: tuple[int, ...],
    text_color: tuple[int, ...],
) -> None:
    """The box border or banner and the text (which stays within the band, clear of the
    code's square, so drawing it before or after the code is the same)."""
    if frame.style == "box":
        draw.rectangle((0, 0, box.width - 1, box.height - 1), fill=color)
    left, top, right, bottom = box.band
    draw.rectangle((left, top, right - 1, bottom - 1), fill=color)
    if frame.text:
        font = _fitted_font(frame.text, box.width, bottom - top)
        centre = ((left + right) / 2, (top + bottom) / 2)
        draw.text(centre, frame.text, fill=text_color, font=font, anchor="mm")


def opaque_frame(frame: Frame, box: FrameBox, color: RGB, text_color: RGB) -> Image.Image:
    """An RGB image of the frame, the code's square left for an opaque code to be drawn in:
    a copy of the frame drawn once per design."""
    return _opaque_frame(frame, box, color, text_color).copy()


@lru_cache(maxsize=32)
def _opaque_frame(frame: Frame, box: FrameBox, color: RGB, text_color: RGB) -> Image.Image:
    """The RGB frame of a design without its code (drawing the text was ~1 ms of a framed
    512 px code); shared through the cache: callers paste into a copy."""
    canvas = Image.new("RGB", (box.width, box.height), (0, 0, 0))
    _draw_frame(ImageDraw.Draw(canvas), frame, box, color, text_color)
    return canvas
