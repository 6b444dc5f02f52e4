"""What a logo may be before any decoder touches its pixels: render's own guard.

The gateway validates and sanitises logos, but render also serves internal callers that can
send anything, so it refuses (never repairs) whatever would let a decoder allocate without
bound or reach outside the request:

* PNG and JPEG: the dimensions in the header, read without decoding (Pillow opens lazily),
  must stay within :data:`MAX_LOGO_PIXELS`, a JPEG within :data:`MAX_JPEG_SCANS`; only the
  decoder the magic bytes name is tried.
  (:func:`check_aspect` bounds the picture's shape once its size is known, for SVG too.)
* SVG: parsed with entity declarations and external references refused (billion laughs,
  XXE), nesting and element count bounded, and every ``href`` either a same-document
  ``#fragment`` or an inline PNG/JPEG whose header dimensions fit the same pixel budget. resvg
  would otherwise read any local path an ``href`` names, and decode an inline raster at
  whatever size it declares.

Every refusal is ``ApiError("INVALID_PARAMETER", field="design.logo_data")``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import xml.etree.ElementTree as ET
from typing import Final, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from PIL import Image

from services.runtime.errors import ApiError

LOGO_FIELD: Final = "design.logo_data"
# No QR code needs a logo drawn from more than this; a 1 MiB file can declare gigapixels.
MAX_LOGO_PIXELS: Final = 4096 * 4096
# Wider or taller than 10:1 a logo is a sliver in its square box, and only a way to make a
# rasterizer allocate one huge dimension.
MAX_LOGO_ASPECT: Final = 10.0
# A progressive JPEG is decoded in one pass per scan, and a 1 MiB file can hold 24,000 tiny
# scans (8 minutes of CPU at 4096 x 4096). Encoders write about 10.
MAX_JPEG_SCANS: Final = 64
_JPEG_START_OF_SCAN: Final = b"\xff\xda"  # never inside entropy-coded data (0xFF is stuffed)
# resvg recurses per nesting level: a thousand nested groups overflow a worker's stack.
_MAX_SVG_DEPTH: Final = 128
_MAX_SVG_ELEMENTS: Final = 50_000
_INLINE_RASTER: Final = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]*)", re.I)

RasterKind = Literal["png", "jpeg"]
LogoKind = Literal["png", "jpeg", "svg"]
_PILLOW_FORMAT: Final[dict[RasterKind, str]] = {"png": "PNG", "jpeg": "JPEG"}


def refused(message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field=LOGO_FIELD)


def logo_kind(logo: bytes) -> LogoKind:
    """The logo's type from its bytes: PNG or JPEG by magic bytes, SVG by its root tag."""
    if logo.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if logo.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = logo[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in logo[:65536].lower():
        return "svg"
    raise refused("logo is not a PNG, JPEG or SVG image")


def check_pixels(width: int, height: int, what: str = "logo") -> None:
    """Refuse an empty picture or one over the pixel budget."""
    if width < 1 or height < 1:
        raise refused(f"{what} has no pixels")
    if width * height > MAX_LOGO_PIXELS:
        raise refused(f"{what} is {width}x{height} px, at most {MAX_LOGO_PIXELS} pixels")


def check_aspect(width: int, height: int, rounding_px: int = 0) -> None:
    """Refuse a logo picture (``width`` x ``height``, both >= 1) beyond the aspect cap.

    ``rounding_px``: how far the short side may have been rounded down (a rasterized SVG),
    so that a logo exactly at the cap is not refused for a pixel.
    """
    if max(width, height) > MAX_LOGO_ASPECT * (min(width, height) + rounding_px):
        raise refused(
            f"logo is {width}x{height} px; its sides may differ by at most "
            f"{MAX_LOGO_ASPECT:g} times"
        )


def jpeg_scan_count(data: bytes) -> int:
    """How many scans a JPEG holds (each one a full decoding pass), counted without decoding."""
    return data.count(_JPEG_START_OF_SCAN)


def open_raster(logo: bytes, kind: RasterKind, what: str = "logo") -> Image.Image:
    """The PNG or JPEG opened lazily (header read, no pixels decoded), pixel count checked."""
    try:
        image = Image.open(io.BytesIO(logo), formats=[_PILLOW_FORMAT[kind]])
        width, height = image.size
    except Image.DecompressionBombError:
        raise refused(f"{what} declares too many pixels (at most {MAX_LOGO_PIXELS})") from None
    except Exception:  # Pillow's errors for hostile headers are many types, all meaning this
        raise refused(f"{what} cannot be decoded as {kind.upper()}") from None
    check_pixels(width, height, what)
    if kind == "jpeg" and jpeg_scan_count(logo) > MAX_JPEG_SCANS:
        raise refused(f"{what} has more than {MAX_JPEG_SCANS} JPEG scans")
    return image


def checked_svg_text(logo: bytes) -> str:
    """The SVG as text once it is known to be safe to hand to resvg (see the module doc)."""
    try:
        text = logo.decode("utf-8-sig")  # a byte-order mark is not part of the XML
        root = defused_fromstring(text, forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException:
        raise refused("logo SVG declares entities or external references") from None
    except (ET.ParseError, UnicodeDecodeError, ValueError):
        raise refused("logo SVG is not well-formed UTF-8 XML") from None
    inline_pixels = 0
    elements = 0
    stack: list[tuple[ET.Element, int]] = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        elements += 1
        if depth > _MAX_SVG_DEPTH:
            raise refused(f"logo SVG nests deeper than {_MAX_SVG_DEPTH} levels")
        if elements > _MAX_SVG_ELEMENTS:
            raise refused(f"logo SVG has more than {_MAX_SVG_ELEMENTS} elements")
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1].lower() == "href":
                inline_pixels += _inline_raster_pixels(value)
                if inline_pixels > MAX_LOGO_PIXELS:
                    raise refused(
                        f"logo SVG embeds images of more than {MAX_LOGO_PIXELS} pixels in all"
                    )
        stack.extend((child, depth + 1) for child in element)
    return text


def _inline_raster_pixels(href: str) -> int:
    """0 for a ``#fragment``; the pixel count of an inline PNG/JPEG; else refused."""
    href = href.strip()
    if href.startswith("#"):
        return 0
    inline = _INLINE_RASTER.fullmatch(href)
    if inline is None:
        raise refused("logo SVG references a file or URL; only #fragments and inline PNG/JPEG")
    kind: RasterKind = "png" if inline.group(1).lower() == "png" else "jpeg"
    try:
        data = base64.b64decode("".join(inline.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise refused("logo SVG embeds an image that is not valid base64") from None
    width, height = open_raster(data, kind, "an image embedded in the logo SVG").size
    return int(width * height)
