"""Minimal, fast PNG encoders for the images this service draws (no ancillary chunks).

Three shapes of input, chosen by the caller for speed:

* row runs (:func:`png_from_row_runs`): distinct packed rows and their repeat counts. A plain QR code
  is a few dozen distinct rows, each repeated module-px times. The first row of a run is
  stored with filter None and the repeats with filter Up, which makes them all-zero; for big
  images those zero runs are deflated once, cached, and spliced into the stream (see
  :func:`_zero_run_block`), so a 4096 px code costs little more than a 512 px one.
* an 8-bit palette index image (:func:`png_from_indexed`), for anti-aliased styled codes;
* an 8-bit grey image (:func:`png_from_gray`), for barcodes.

Deflate is ISA-L (``isal``) at level 1: on this image data it is ~4x faster than zlib at
its fastest level for a similar size, and compression time dominates the PNG cost.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from isal import isal_zlib

from services.render.colors import RGB

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_IEND: Final = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_ADLER_MOD: Final = 65521
_FILTER_NONE: Final = 0
_FILTER_UP: Final = 2
# zlib header for a 32 KiB window, "fastest" flag; (0x78 * 256 + 0x01) % 31 == 0.
_ZLIB_HEADER: Final = b"\x78\x01"
# Below this raw size one deflate call over the whole image is cheaper than splicing runs.
_SPLICE_THRESHOLD: Final = 256 * 1024
_COLOR_TYPE_GRAY: Final = 0
_COLOR_TYPE_PALETTE: Final = 3


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
    )


@lru_cache(maxsize=256)
def _header(width: int, height: int, bit_depth: int, color_type: int) -> bytes:
    return _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))


Palette = npt.NDArray[np.uint8] | Sequence[RGB]


def _palette_chunk(palette: Palette) -> bytes:
    entries = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if not 1 <= len(entries) <= 256:
        raise ValueError(f"a PNG palette holds 1..256 colours, got {len(entries)}")
    return _chunk(b"PLTE", entries.tobytes())


def _alpha_chunk(alpha: Sequence[int] | npt.NDArray[np.uint8]) -> bytes:
    """tRNS: the alpha of the first ``len(alpha)`` palette entries (the rest stay opaque)."""
    if len(alpha) == 0:
        return b""
    return _chunk(b"tRNS", np.asarray(alpha, dtype=np.uint8).tobytes())


def _assemble(header: bytes, palette: bytes, idat: bytes) -> bytes:
    return b"".join((_SIGNATURE, header, palette, _chunk(b"IDAT", idat), _IEND))


def _adler_after_zero_rows(adler: int, row_bytes: int, rows: int) -> int:
    """Adler-32 after appending ``rows`` rows of (filter Up byte + ``row_bytes`` zeros).

    Closed form: each row adds 2 to the low sum A, and the high sum B gains A once per byte
    of the row, so the checksum of megabytes of zeros costs O(1).
    """
    a = adler & 0xFFFF
    b = adler >> 16
    b = (b + (row_bytes + 1) * (rows * a + rows * (rows + 1))) % _ADLER_MOD
    a = (a + 2 * rows) % _ADLER_MOD
    return (b << 16) | a


@lru_cache(maxsize=128)
def _zero_run_block(row_bytes: int, rows: int) -> bytes:
    """Raw deflate blocks for ``rows`` Up-filtered zero rows, byte-aligned, no history.

    A full flush ends on a byte boundary and refers to nothing before it, so the same bytes
    can be spliced anywhere a full flush left the stream.
    """
    deflater = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
    row = bytes((_FILTER_UP,)) + bytes(row_bytes)
    return deflater.compress(row * rows) + deflater.flush(isal_zlib.Z_FULL_FLUSH)


@lru_cache(maxsize=64)
def _stored_header(length: int) -> bytes:
    return struct.pack("<BHH", 0, length, length ^ 0xFFFF)


def _stored_blocks(data: bytes) -> bytes:
    """``data`` as non-final stored deflate blocks (each at most 65535 bytes), byte-aligned."""
    out = bytearray()
    for start in range(0, len(data), 0xFFFF):
        piece = data[start : start + 0xFFFF]
        out += struct.pack("<BHH", 0, len(piece), len(piece) ^ 0xFFFF)
        out += piece
    return bytes(out)


@dataclass(frozen=True, slots=True)
class RowRuns:
    """Image rows as runs: ``rows[i]`` (packed PNG row bytes) repeated ``counts[i]`` times.

    Pixels are big-endian within a byte, as PNG wants (``np.packbits`` order for 1-bit).
    """

    rows: npt.NDArray[np.uint8]  # (runs, row bytes)
    counts: npt.NDArray[np.int64]  # (runs,), each >= 0; runs of 0 rows are skipped


def png_from_row_runs(
    width: int,
    runs: RowRuns,
    *,
    bit_depth: int,
    palette: Palette,
    alpha: Sequence[int] | npt.NDArray[np.uint8] = (),
) -> bytes:
    """A palette PNG of ``width`` px whose rows are ``runs``; ``alpha``: see
    :func:`png_from_indexed`."""
    row_bytes = (width * bit_depth + 7) // 8
    if runs.rows.shape[1] != row_bytes:
        raise ValueError(f"rows hold {runs.rows.shape[1]} bytes, expected {row_bytes}")
    keep = runs.counts > 0
    rows, counts = runs.rows[keep], runs.counts[keep]
    height = int(counts.sum())
    if height * (row_bytes + 1) <= _SPLICE_THRESHOLD:
        raw = np.zeros((height, row_bytes + 1), dtype=np.uint8)
        raw[:, 0] = _FILTER_UP
        starts = np.concatenate(([0], np.cumsum(counts[:-1])))
        raw[starts, 0] = _FILTER_NONE
        raw[starts, 1:] = rows
        idat = isal_zlib.compress(raw, 1)
    else:
        idat = _spliced_idat(row_bytes, rows, counts.tolist())
    if isinstance(palette, np.ndarray) or isinstance(alpha, np.ndarray):
        colors = _palette_chunk(palette) + _alpha_chunk(alpha)
    else:
        colors = _small_palette_chunks(tuple(palette), tuple(alpha))
    return _assemble(_header(width, height, bit_depth, _COLOR_TYPE_PALETTE), colors, idat)


@lru_cache(maxsize=256)
def _small_palette_chunks(palette: tuple[RGB, ...], alpha: tuple[int, ...]) -> bytes:
    """PLTE and tRNS of a plain code's two colours: the same few pairs come back per code."""
    return _palette_chunk(palette) + _alpha_chunk(alpha)


def _spliced_idat(row_bytes: int, rows: npt.NDArray[np.uint8], counts: list[int]) -> bytes:
    # The distinct rows are few and short (a few KiB for a 4096 px code), so they go in
    # stored blocks: compressing them would cost more time than it saves bytes.
    parts = [_ZLIB_HEADER]
    adler = 1
    header = _stored_header(row_bytes + 1)
    for row, count in zip(rows, counts, strict=True):
        literal = b"\x00" + row.tobytes()  # filter None
        if len(literal) <= 0xFFFF:
            parts += (header, literal)
        else:
            parts.append(_stored_blocks(literal))
        adler = zlib.adler32(literal, adler)
        if count > 1:
            parts.append(_zero_run_block(row_bytes, count - 1))
            adler = _adler_after_zero_rows(adler, row_bytes, count - 1)
    parts.append(b"\x03\x00")  # final, fixed-Huffman, empty block
    parts.append(struct.pack(">I", adler))
    return b"".join(parts)


def _up_filtered(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The PNG rows of ``pixels`` (Up-filtered), handed to deflate as they are: a copy to
    bytes was ~10 % of a framed 512 px code."""
    height, width = pixels.shape
    raw = np.empty((height, width + 1), dtype=np.uint8)
    raw[:, 0] = _FILTER_UP
    raw[0, 0] = _FILTER_NONE
    raw[0, 1:] = pixels[0]
    np.subtract(pixels[1:], pixels[:-1], out=raw[1:, 1:])
    return raw


def png_from_indexed(
    pixels: npt.NDArray[np.uint8],
    palette: Palette,
    alpha: Sequence[int] | npt.NDArray[np.uint8] = (),
) -> bytes:
    """An 8-bit palette PNG of ``pixels`` (H x W indices into ``palette``, (k, 3) RGB);
    ``alpha`` gives the first palette entries an opacity (a transparent background)."""
    height, width = pixels.shape
    idat = isal_zlib.compress(_up_filtered(pixels), 1)
    return _assemble(
        _header(width, height, 8, _COLOR_TYPE_PALETTE),
        _palette_chunk(palette) + _alpha_chunk(alpha),
        idat,
    )


def png_from_gray(pixels: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit greyscale PNG of ``pixels`` (H x W, 0 black .. 255 white)."""
    height, width = pixels.shape
    idat = isal_zlib.compress(_up_filtered(pixels), 1)
    return _assemble(_header(width, height, 8, _COLOR_TYPE_GRAY), b"", idat)


_COLOR_TYPES_BY_CHANNELS: Final = {3: 2, 4: 6}  # RGB, RGBA


def png_from_rgb(pixels: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB or RGBA PNG of ``pixels`` (H x W x 3 or 4), for designs of more colours
    than a palette of coverage levels holds (eye colours)."""
    height, width, channels = pixels.shape
    if channels not in _COLOR_TYPES_BY_CHANNELS:
        raise ValueError(f"expected H x W x 3 or 4 pixels, got {pixels.shape}")
    # The Up filter subtracts the byte above, so the interleaved rows filter as grey rows do.
    idat = isal_zlib.compress(_up_filtered(pixels.reshape(height, width * channels)), 1)
    header = _header(width, height, 8, _COLOR_TYPES_BY_CHANNELS[channels])
    return _assemble(header, b"", idat)
