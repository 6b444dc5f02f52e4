"""Logos built to hurt a renderer (issue 13, finding 2), shared by the unit and integration
tests: each one once killed or stalled a render worker, or would have."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from functools import cache

from PIL import Image

SVG_XMLNS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'

# 128 bytes that made resvg allocate a 256 x 25,600,000 canvas (26 GB): the worker aborted.
TALL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 100000" width="1" height="100000">'
    b'<rect width="1" height="100000"/></svg>'
)
# 1:4000 rendered at 256 px wide is 262 Mpx: Pillow's decompression-bomb error escaped as a 500.
SLIVER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 4000" width="1" height="4000">'
    b'<rect width="1" height="4000"/></svg>'
)
BILLION_LAUGHS_SVG = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>'
)
DEEPLY_NESTED_SVG = (
    f'<svg {SVG_XMLNS} width="10" height="10">'.encode()
    + b"<g>" * 1000
    + b'<rect width="5" height="5"/>'
    + b"</g>" * 1000
    + b"</svg>"
)
# Each mask masks its content with the next one: resvg recurses per link and overflows its
# stack (SIGSEGV). Passes any per-element sanitiser: every reference is a #fragment.
MASK_CHAIN_SVG = (
    f'<svg {SVG_XMLNS} width="10" height="10"><defs>'.encode()
    + b"".join(
        b'<mask id="m%d"><rect width="5" height="5" fill="white" mask="url(#m%d)"/></mask>'
        % (i, i + 1)
        for i in range(1000)
    )
    + b'<mask id="m1000"><rect width="5" height="5" fill="white"/></mask></defs>'
    + b'<rect width="5" height="5" mask="url(#m0)"/></svg>'
)
# A blur whose filter region is 200 times the element, on a hundred elements: minutes of CPU.
FILTER_STORM_SVG = (
    f'<svg {SVG_XMLNS} width="10" height="10"><defs><filter id="f" x="-100" y="-100" '.encode()
    + b'width="200" height="200"><feGaussianBlur stdDeviation="50"/></filter></defs>'
    + b'<rect width="5" height="5" filter="url(#f)"/>' * 100
    + b"</svg>"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG of ``width`` x ``height`` black pixels: a few bytes per
    megapixel on the wire, four bytes per pixel once a decoder expands it to RGBA."""
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


@cache
def embedded_bomb_svg() -> bytes:
    """An SVG showing a 20000 x 20000 PNG inline: 1.6 GB of RGBA in whoever decodes it."""
    png = base64.b64encode(blank_png(20_000, 20_000))
    return (
        f'<svg {SVG_XMLNS} width="100" height="100"><image width="100" height="100" '.encode()
        + b'xlink:href="data:image/png;base64,'
        + png
        + b'"/></svg>'
    )


def svg_with_file_href(path: str) -> bytes:
    """An SVG whose image is a local file: resvg reads any path it is given."""
    return (
        f'<svg {SVG_XMLNS} width="100" height="100">'
        f'<image width="100" height="100" xlink:href="{path}"/></svg>'
    ).encode()


def animated_gif(frames: int) -> bytes:
    images = [Image.new("RGB", (64, 64), (i % 256, i // 256, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def animated_png(frames: int) -> bytes:
    images = [Image.new("RGB", (64, 64), (i % 256, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PNG", save_all=True, append_images=images[1:])
    return buffer.getvalue()


@cache
def jpeg_scan_bomb() -> bytes:
    """A 4096 x 4096 progressive JPEG whose last scan is repeated until the file is 900 kB:
    decoders warn and decode every copy, about 8 minutes of CPU."""
    buffer = io.BytesIO()
    Image.new("RGB", (4096, 4096), (120, 130, 140)).save(buffer, "JPEG", progressive=True)
    jpeg = buffer.getvalue()
    last_scan = jpeg[jpeg.rindex(b"\xff\xda") : -2]  # up to the end-of-image marker
    copies = (900_000 - len(jpeg)) // len(last_scan)
    return jpeg[:-2] + last_scan * copies + jpeg[-2:]
