"""Every QR code and barcode in an image: the ``DecodeImage`` job the workers run.

The image is bounded from its header first (:mod:`~services.render.decode_limits`), then its
first frame is decoded to grey levels (a JPEG straight to grey by its decoder, skipping the
colour conversion; transparency as white paper) and read once by zxing-cpp with every format
it knows, rotated, inverted and downscaled views included.

It is read at its own resolution up to :data:`MAX_READ_SIDE` (larger images are shrunk to
that, which bounds the time a 40 Mpx upload can take). A faster first pass at a reduced size
was tried and dropped: a dense linear code (a CODE128 at 2 px per module) next to a QR code on
one page shrinks below a readable size, and "every code found" is the contract.

Positions are in the pixels of the image as sent.

A caller who knows what it scans may name the formats to look for (``formats``: the names the
results carry, such as QR or EAN13): each format left out is a reader not run over the image,
which is most of a decode's time (a 1,000 px photo: about 4 ms for QR alone, 45 ms for all).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import zxingcpp
from PIL import Image

from services.render.decode_limits import invalid, open_bounded_image
from services.runtime.errors import ApiError

# 4096 x 3072 takes about a second of one core; a 40 Mpx image would take three.
MAX_READ_SIDE: Final = 4096
_ALL_FORMATS: Final = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.AllReadable)
_NO_FORMAT: Final = zxingcpp.BarcodeFormat.NONE
_OTHER_FORMAT: Final = zxingcpp.BarcodeFormat.OtherBarcode
# Plain, not the default HRI: HRI rewrites control characters (GS becomes "<GS>"), so a text
# would not be the bytes that were encoded.
_PLAIN_TEXT: Final = zxingcpp.TextMode.Plain
# The names the barcode routes use where they have one; other formats: zxing-cpp's name,
# upper case, letters and digits only (DATAMATRIX, AZTEC, PDF417, CODE93, ...).
_FORMAT_NAMES: Final[dict[str, str]] = {
    "QR Code": "QR",
    "QR Code Model 1": "QR",
    "QR Code Model 2": "QR",
    "Micro QR Code": "MICROQR",
    "rMQR Code": "RMQR",
}

Point = tuple[int, int]

# At most this many names in one request's ``formats`` (there are fewer distinct names).
MAX_FORMAT_NAMES: Final = 64


@dataclass(frozen=True, slots=True)
class DecodedSymbol:
    format: str
    text: str
    position: tuple[Point, Point, Point, Point]  # top-left, top-right, bottom-right, bottom-left


def format_name(barcode_format: zxingcpp.BarcodeFormat) -> str:
    label = str(barcode_format)
    return _FORMAT_NAMES.get(label) or "".join(ch for ch in label if ch.isalnum()).upper()


def _readable_formats() -> dict[str, tuple[zxingcpp.BarcodeFormat, ...]]:
    """Each name ``formats`` takes (as :func:`format_name` writes it) and the zxing-cpp formats
    it stands for (QR covers the QR Code models too)."""
    by_name: dict[str, tuple[zxingcpp.BarcodeFormat, ...]] = {}
    for member in zxingcpp.BarcodeFormat.__members__.values():
        # Groups of formats ("All Linear", ...) and no format at all are not names.
        if str(member).startswith("All") or member in (_NO_FORMAT, _OTHER_FORMAT):
            continue
        name = format_name(member)
        by_name[name] = (*by_name.get(name, ()), member)
    return by_name


READABLE_FORMATS: Final = _readable_formats()


def reader_formats(names: Collection[str]) -> zxingcpp.BarcodeFormats:
    """The formats to look for: every one when ``names`` is empty. Raises ``ApiError``
    INVALID_PARAMETER for a name no reader has, listing the names there are."""
    if not names:
        return _ALL_FORMATS
    if len(names) > MAX_FORMAT_NAMES:
        raise _invalid_formats(f"formats takes at most {MAX_FORMAT_NAMES} names")
    unknown = sorted({name for name in names if name not in READABLE_FORMATS})
    if unknown:
        known = ", ".join(sorted(READABLE_FORMATS))
        # Echoed cut short: the message must not carry whatever a caller sent.
        raise _invalid_formats(f"unknown format {unknown[0][:40]!r}; formats are: {known}")
    return zxingcpp.BarcodeFormats([member for name in names for member in READABLE_FORMATS[name]])


def _invalid_formats(message: str) -> ApiError:
    return ApiError("INVALID_PARAMETER", message, field="formats")


def _grey(image: Image.Image) -> Image.Image:
    """Grey levels of a decoded image; transparent pixels count as white paper (a code drawn
    on a transparent background is dark modules on nothing)."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if not has_alpha:
        return image.convert("L")
    rgba = image.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    paper.alpha_composite(rgba)
    return paper.convert("L")


def _loaded_grey(data: bytes) -> tuple[Image.Image, int]:
    """The first frame as grey levels, its long side at most :data:`MAX_READ_SIDE`, and the
    long side of the image as sent."""
    image = open_bounded_image(data)
    side = max(image.size)
    try:
        if image.format == "JPEG":
            # Decoded straight to grey, and by the DCT at a smaller scale when one fits.
            scale = min(1.0, MAX_READ_SIDE / side)
            image.draft("L", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        image.load()
        grey = _grey(image)
    except Exception:  # truncated data, bad chunks, codec errors: Pillow raises many types
        raise invalid("The image is damaged or truncated and cannot be decoded") from None
    if max(grey.size) > MAX_READ_SIDE:
        scale = MAX_READ_SIDE / max(grey.size)
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BOX)
    return grey, side


def _read(grey: Image.Image, scale: float, formats: zxingcpp.BarcodeFormats) -> list[DecodedSymbol]:
    results = zxingcpp.read_barcodes(
        grey,
        formats=formats,
        try_rotate=True,
        try_downscale=True,
        try_invert=True,
        text_mode=_PLAIN_TEXT,
    )
    symbols = []
    for result in results:
        corners = result.position
        points = (corners.top_left, corners.top_right, corners.bottom_right, corners.bottom_left)
        position = tuple((round(point.x * scale), round(point.y * scale)) for point in points)
        symbols.append(
            DecodedSymbol(
                format=format_name(result.format),
                text=result.text,
                position=(position[0], position[1], position[2], position[3]),
            )
        )
    return symbols


def decode_image(data: bytes, formats: Collection[str] = ()) -> list[DecodedSymbol]:
    """Every code zxing-cpp finds in ``data`` (PNG, JPEG or WebP), in the image's pixels; of
    the ``formats`` named when there are any (see :func:`reader_formats`).

    Raises ``ApiError`` INVALID_PARAMETER for an unknown format, then INVALID_IMAGE (or
    PAYLOAD_TOO_LARGE) before decoding a pixel of an image over the limits, and when the
    pixels cannot be decoded.
    """
    readers = reader_formats(formats)
    grey, side = _loaded_grey(data)
    return _read(grey, side / max(grey.size), readers)
