"""What an image sent to ``DecodeImage`` may be before any decoder touches its pixels.

A client's upload is hostile until its header says otherwise: 10 MiB of PNG can declare
100,000 x 100,000 pixels (40 GB once expanded), and a JPEG can hold thousands of scans, each a
full decoding pass. So, in this order and without decoding a pixel:

* the bytes: at most :data:`MAX_IMAGE_BYTES`, never empty;
* the type, from the magic bytes (PNG, JPEG or WebP), and only that decoder is tried;
* the dimensions read from the header (Pillow opens lazily): at most :data:`MAX_IMAGE_PIXELS`;
* a JPEG's scan count: at most :data:`~services.render.logo_limits.MAX_JPEG_SCANS`.

Every refusal is ``ApiError("INVALID_IMAGE")``, but for the byte limit
(``PAYLOAD_TOO_LARGE``, what the gateway answers for the same body).
"""

from __future__ import annotations

import io
from typing import Final, Literal

from PIL import Image

from services.render.logo_limits import MAX_JPEG_SCANS, jpeg_scan_count
from services.runtime.errors import ApiError

MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
MAX_IMAGE_PIXELS: Final = 40_000_000

ImageKind = Literal["png", "jpeg", "webp"]
_PILLOW_FORMAT: Final[dict[ImageKind, str]] = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def invalid(message: str) -> ApiError:
    return ApiError("INVALID_IMAGE", message)


def image_kind(data: bytes) -> ImageKind:
    """The image's type from its magic bytes; anything else is refused."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise invalid("The body is not a PNG, JPEG or WebP image")


def check_image_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise invalid("The image has no pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise invalid(
            f"The image is {width}x{height} pixels; at most {MAX_IMAGE_PIXELS // 1_000_000} "
            "megapixels are decoded"
        )


def open_bounded_image(data: bytes) -> Image.Image:
    """The image opened lazily (header read, no pixel decoded) once every bound holds.

    Pillow's own decompression-bomb check (``Image.MAX_IMAGE_PIXELS``, a warning at 89 Mpx and
    an error at twice that) sits above our limit, so it can only fire for a header Pillow
    reads differently; it is refused the same way.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "The image is larger than 10 MiB")
    if not data:
        raise invalid("The body is empty; send the image's bytes")
    kind = image_kind(data)
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[kind]])
        width, height = image.size
    except Image.DecompressionBombError:
        raise invalid(
            f"The image declares more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels"
        ) from None
    except Exception:  # Pillow's errors for hostile headers are many types, all meaning this
        raise invalid(f"The image cannot be read as {kind.upper()}") from None
    check_image_pixels(width, height)
    if kind == "jpeg" and jpeg_scan_count(data) > MAX_JPEG_SCANS:
        raise invalid(f"The JPEG has more than {MAX_JPEG_SCANS} scans")
    return image
