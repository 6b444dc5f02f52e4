"""JPEG and WebP: the PNG's raster (same canvas, same palette) encoded by Pillow, and read back.

The canvas is drawn exactly as for a PNG (plain or styled, logo included), so the formats
differ only in how the pixels are stored:

* JPEG: quality 90 with 4:4:4 chroma (``subsampling=0``). Halved chroma smears a coloured
  module edge over two pixels and 4:2:0 at low quality can shift a thin module's luma across
  the threshold; at 90 / 4:4:4 the ringing around an edge stays a few grey levels.
* WebP: lossless, so the pixels sent are the pixels drawn; ``method=1`` is the fast end of
  the effort range (about half the time of the default for a file ~15 % larger; every
  effort stores the same pixels).

What is verified is the file, not the canvas: :func:`decoded_gray` decodes the encoded bytes
(a lossy JPEG is exactly where a pre-encoding check would prove nothing) and reduces them to
a few pixels per module, by box averaging or by JPEG's own DCT scaling, as a camera would
see a larger image.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

# Both encoders are deterministic (no timestamps), so the bytes are a pure function of the
# request, as the gateway's strong ETags require.
_JPEG_QUALITY: Final = 90
_JPEG_SUBSAMPLING_444: Final = 0
# In lossless mode Pillow's "quality" is the effort spent compressing, not fidelity.
_WEBP_METHOD: Final = 1
# For many-coloured rasters (gradients): method 1 spends ~5x the time of method 0 there
# (3.6 s against 0.7 s for a 4096 px radial gradient) for a file half the size.
_WEBP_METHOD_MANY_COLORS: Final = 0
_WEBP_EFFORT: Final = 20


def encode_raster(canvas: npt.NDArray[np.uint8], palette: npt.NDArray[np.uint8], fmt: str) -> bytes:
    """``canvas`` (palette indices) with its (k, 3) ``palette``, as a ``fmt`` file (jpeg|webp)."""
    indexed = Image.fromarray(canvas, "P")
    indexed.putpalette(palette.astype(np.uint8).tobytes())
    return encode_rgb(np.asarray(indexed.convert("RGB")), fmt)


def encode_rgb(pixels: npt.NDArray[np.uint8], fmt: str, *, many_colors: bool = False) -> bytes:
    """``pixels`` (H x W x 3 RGB, or x 4 RGBA for a WebP with a transparent background) as a
    ``fmt`` file (jpeg|webp)."""
    buffer = io.BytesIO()
    rgb = Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB")
    if fmt == "jpeg":
        rgb.save(buffer, "JPEG", quality=_JPEG_QUALITY, subsampling=_JPEG_SUBSAMPLING_444)
    elif fmt == "webp":
        method = _WEBP_METHOD_MANY_COLORS if many_colors else _WEBP_METHOD
        rgb.save(buffer, "WEBP", lossless=True, method=method, quality=_WEBP_EFFORT)
    else:
        raise ValueError(f"not an encoded raster format: {fmt!r}")
    return buffer.getvalue()


def decoded_gray(data: bytes, module_px: int, min_module_px: int) -> npt.NDArray[np.uint8]:
    """The grey image (0 black .. 255 white) a reader gets from the file ``data``, reduced to
    no fewer than ``min_module_px`` pixels per module (modules are ``module_px`` in the file).

    Grey is ITU-R 601 luma, the weights zxing uses. Reducing keeps the decode cheap at large
    sizes (a 4096 px JPEG is read at 1/8 scale straight from its DCT coefficients).
    """
    factor = max(1, module_px // min_module_px)
    with Image.open(io.BytesIO(data)) as image:
        width = image.width
        if image.format == "JPEG" and factor > 1:
            image.draft("L", (width // factor, image.height // factor))
        return _reduced_gray(image, width, module_px, min_module_px)


def pixels_gray(image: Image.Image, module_px: int, min_module_px: int) -> npt.NDArray[np.uint8]:
    """:func:`decoded_gray` of a lossless file of ``image`` (RGB or RGBA), without encoding
    and decoding it."""
    return _reduced_gray(image, image.width, module_px, min_module_px)


def _reduced_gray(
    image: Image.Image, width: int, module_px: int, min_module_px: int
) -> npt.NDArray[np.uint8]:
    # What draft() did not reduce (it scales by 1/2, 1/4 or 1/8 only), box averaging does.
    remaining = max(1, (module_px * image.width // width) // min_module_px)
    if image.has_transparency_data:
        # What a reader sees on the usual surface: a transparent background as white.
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        gray = Image.alpha_composite(white, image.convert("RGBA")).convert("L")
        return np.asarray(gray.reduce(remaining) if remaining > 1 else gray)
    if image.mode not in ("RGB", "L"):
        image = image.convert("L")  # a palette's indices must not be averaged
    # Averaged first, then grey: one pass over the full image instead of two (the grey of an
    # average and the average of greys differ by rounding, at most one level).
    reduced = image.reduce(remaining) if remaining > 1 else image
    return np.asarray(reduced.convert("L"))
