"""Images to decode, shared by the decode tests and the decode benchmark: a code as a phone
photographs it, several codes on one page, and headers that lie about their size."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFilter

# Where the code's corners land in a photo of side 1: a tilted sheet, off-centre.
_TILTED_CORNERS = ((0.18, 0.12), (0.86, 0.2), (0.8, 0.88), (0.12, 0.8))


def _perspective_coefficients(
    source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """Pillow's PERSPECTIVE coefficients mapping each ``target`` point back to its ``source``."""
    rows: list[list[float]] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    values = [coordinate for point in source for coordinate in point]
    solved = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
    return tuple(float(value) for value in solved)


def phone_photo(image_bytes: bytes, *, side: int = 1000, seed: int = 1, quality: int = 80) -> bytes:
    """A JPEG of ``image_bytes`` (any image Pillow reads) as a phone sees it: printed on a
    tilted sheet (perspective), slightly out of focus, lit unevenly, with sensor noise and a
    colour cast; ``side`` x ``side`` pixels."""
    rng = np.random.default_rng(seed)
    code = Image.open(io.BytesIO(image_bytes)).convert("L")
    width, height = code.size
    corners = [(x * side, y * side) for x, y in _TILTED_CORNERS]
    coefficients = _perspective_coefficients(
        [(0, 0), (width, 0), (width, height), (0, height)], corners
    )
    warped = code.transform(
        (side, side),
        Image.Transform.PERSPECTIVE,
        coefficients,
        Image.Resampling.BICUBIC,
        fillcolor=200,
    ).filter(ImageFilter.GaussianBlur(1.2))
    grey = np.asarray(warped, dtype=np.float32)
    light = 0.75 + 0.25 * np.arange(side, dtype=np.float32) / side  # darker on the left
    seen = grey * light[np.newaxis, :] + rng.normal(0.0, 8.0, grey.shape)
    rgb = np.stack([seen * 0.98, seen, seen * 0.93], axis=-1)
    out = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def page_of(
    images: Sequence[bytes], *, columns: int = 2, gap: int = 40
) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A white PNG page with ``images`` laid out in a grid, and each one's box
    (left, top, right, bottom) on it."""
    pictures = [Image.open(io.BytesIO(data)).convert("RGB") for data in images]
    cell_w = max(picture.width for picture in pictures) + gap
    cell_h = max(picture.height for picture in pictures) + gap
    rows = (len(pictures) + columns - 1) // columns
    page = Image.new("RGB", (columns * cell_w + gap, rows * cell_h + gap), "white")
    boxes = []
    for index, picture in enumerate(pictures):
        left = gap + (index % columns) * cell_w
        top = gap + (index // columns) * cell_h
        page.paste(picture, (left, top))
        boxes.append((left, top, left + picture.width, top + picture.height))
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue(), boxes


def reencoded(image_bytes: bytes, pillow_format: str, **options: object) -> bytes:
    """``image_bytes`` saved again as ``pillow_format`` (``"WEBP"``, ``"JPEG"``, ...)."""
    out = io.BytesIO()
    Image.open(io.BytesIO(image_bytes)).convert("RGB").save(out, pillow_format, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def claimed_size_png(width: int, height: int) -> bytes:
    """About 1 KB of PNG whose header declares ``width`` x ``height`` 8-bit RGBA pixels, its
    data the first MiB of them (all zero): a decompression bomb (100,000 x 100,000 is 40 GB
    once decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(1 << 20), 9))
        + _png_chunk(b"IEND", b"")
    )
