"""Logo bytes (PNG, JPEG or sanitised SVG) -> pixels at the size a symbol needs, cached.

Decoding and resampling a logo costs far more than drawing a QR code, and the same few
logos come back again and again (one per customer brand), so results are kept in small LRU
caches keyed by a digest of the bytes plus the target size and colours.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import resvg_py
from PIL import Image, UnidentifiedImageError

from services.render.colors import RGB
from services.runtime.errors import ApiError

_FIELD: Final = "design.logo_data"
# Larger logos are refused rather than decoded: a 1 MiB file can still declare a
# decompression bomb's dimensions, and no QR code needs a logo drawn bigger than this.
MAX_LOGO_PIXELS: Final = 4096 * 4096
# The SVG is rendered this wide once just to learn its aspect ratio.
_PROBE_WIDTH: Final = 256

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A bounded mapping that evicts the least recently used entry; not thread-safe.

    Fine here: the render service runs one worker thread per process.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        try:
            value = self._items[key]
        except KeyError:
            value = make()
            self._items[key] = value
            if len(self._items) > self._capacity:
                self._items.popitem(last=False)
            return value
        self._items.move_to_end(key)
        return value


@dataclass(frozen=True, slots=True)
class IndexedLogo:
    """A logo flattened onto the background, as palette indices plus its palette."""

    indices: npt.NDArray[np.uint8]  # (h, w), values first_index .. first_index+len(palette)-1
    palette: npt.NDArray[np.uint8]  # (k, 3) RGB


def logo_digest(logo: bytes) -> bytes:
    """Cache key for logo bytes (BLAKE2b is faster than SHA-256 here and as collision-safe)."""
    return hashlib.blake2b(logo, digest_size=16).digest()


def _kind(logo: bytes) -> str:
    if logo.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if logo.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = logo[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in logo[:65536].lower():
        return "svg"
    raise ApiError("INVALID_PARAMETER", "logo is not a PNG, JPEG or SVG image", field=_FIELD)


def _svg_to_rgba(logo: bytes, width: int | None = None, height: int | None = None) -> Image.Image:
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=logo.decode("utf-8"),
            width=width,
            height=height,
            skip_system_fonts=True,
        )
        image = Image.open(io.BytesIO(png))
        image.load()
    except (ValueError, UnicodeDecodeError, UnidentifiedImageError, OSError) as exc:
        raise ApiError(
            "INVALID_PARAMETER", f"logo SVG cannot be rendered: {exc}", field=_FIELD
        ) from exc
    return image.convert("RGBA")


def _open_raster(logo: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(logo))
        if image.width * image.height > MAX_LOGO_PIXELS:
            raise ApiError(
                "LOGO_TOO_LARGE",
                f"logo is {image.width}x{image.height} px, at most {MAX_LOGO_PIXELS} pixels",
                field=_FIELD,
            )
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ApiError("INVALID_PARAMETER", f"logo cannot be decoded: {exc}", field=_FIELD) from exc
    return image.convert("RGBA")


_aspects: LruCache[bytes, float] = LruCache(256)
_rgba: LruCache[tuple[bytes, int, int], Image.Image] = LruCache(64)
_indexed: LruCache[tuple[bytes, int, int, RGB, int, int], IndexedLogo] = LruCache(64)


def logo_aspect(logo: bytes, digest: bytes | None = None) -> float:
    """Width / height of the logo's picture; raises ApiError if it cannot be decoded."""
    key = digest or logo_digest(logo)

    def measure() -> float:
        image = (
            _svg_to_rgba(logo, width=_PROBE_WIDTH) if _kind(logo) == "svg" else _open_raster(logo)
        )
        if image.width < 1 or image.height < 1:
            raise ApiError("INVALID_PARAMETER", "logo has no pixels", field=_FIELD)
        return image.width / image.height

    return _aspects.get_or_make(key, measure)


def logo_rgba(logo: bytes, width: int, height: int, digest: bytes | None = None) -> Image.Image:
    """The logo as an RGBA image of exactly ``width`` x ``height`` (SVG rendered at that size).

    The returned image is shared through the cache: callers must not modify it.
    """
    key = (digest or logo_digest(logo), width, height)

    def make() -> Image.Image:
        if _kind(logo) == "svg":
            image = _svg_to_rgba(logo, width=width, height=height)
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            return image
        return _open_raster(logo).resize(
            (width, height), Image.Resampling.LANCZOS, reducing_gap=3.0
        )

    return _rgba.get_or_make(key, make)


def logo_indexed(
    logo: bytes,
    width: int,
    height: int,
    background: RGB,
    first_index: int,
    max_colors: int,
    digest: bytes | None = None,
) -> IndexedLogo:
    """The logo composited over ``background`` (alpha honoured), quantised to ``max_colors``.

    Indices are offset by ``first_index`` so they can share a palette with the symbol's
    coverage levels.
    """
    key_digest = digest or logo_digest(logo)
    key = (key_digest, width, height, background, first_index, max_colors)

    def make() -> IndexedLogo:
        rgba = logo_rgba(logo, width, height, key_digest)
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        quantised = flat.convert("RGB").quantize(
            colors=max_colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
        )
        raw = np.asarray(quantised, dtype=np.uint8)
        used = int(raw.max()) + 1
        palette = np.array(quantised.getpalette() or [], dtype=np.uint8)[: 3 * used].reshape(-1, 3)
        indices = raw + np.uint8(first_index)
        indices.setflags(write=False)
        palette.setflags(write=False)
        return IndexedLogo(indices=indices, palette=palette)

    return _indexed.get_or_make(key, make)
