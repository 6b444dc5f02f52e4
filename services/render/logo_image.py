"""Logo bytes (PNG, JPEG or SVG) -> pixels at the size a symbol needs, cached.

Decoding and resampling a logo costs far more than drawing a QR code, and the same few
logos come back again and again (one per customer brand), so results are kept in small LRU
caches keyed by a digest of the bytes plus the target size and colours.

Nothing here trusts the bytes (see :mod:`logo_limits`): a raster's dimensions are checked from
its header before any pixel is decoded, and an SVG is rasterized once, in an isolated child
process, fitted into a fixed square (never at the size it declares); every later size is
resampled from that picture.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from services.render.colors import RGB
from services.render.logo_limits import (
    check_aspect,
    checked_svg_text,
    logo_kind,
    open_raster,
    refused,
)
from services.render.svg_rasterizer import RasterizeError, rasterize_svg
from services.runtime.errors import ApiError

# SVG logos are rasterized fitted into this square: more than a 4096 px PNG draws a logo at
# the default logo_size (819 px), and as much as a PDF logo ever gets.
SVG_RASTER_BOX: Final = 1024

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


def _decoded(image: Image.Image, what: str) -> Image.Image:
    """Decode a lazily opened (and already size-checked) image to RGBA."""
    try:
        image.load()
        return image.convert("RGBA")
    except Exception:  # truncated data, bad chunks, codec errors: Pillow raises many types
        raise refused(f"{what} cannot be decoded") from None


def _svg_picture(logo: bytes) -> Image.Image:
    text = checked_svg_text(logo)
    try:
        png = rasterize_svg(text, SVG_RASTER_BOX)
    except RasterizeError as exc:
        raise refused(str(exc)) from None
    image = _decoded(open_raster(png, "png", "logo SVG"), "logo SVG")
    check_aspect(image.width, image.height, rounding_px=1)
    return image


_aspects: LruCache[bytes, float] = LruCache(256)
# Refusals are kept too: a hostile SVG sent again costs a lookup, not another
# child process burning its CPU allowance.
_svg_pictures: LruCache[bytes, Image.Image | ApiError] = LruCache(16)
_rgba: LruCache[tuple[bytes, int, int], Image.Image] = LruCache(64)
_indexed: LruCache[tuple[bytes, int, int, RGB, int, int], IndexedLogo] = LruCache(64)


def _svg_picture_cached(logo: bytes, digest: bytes) -> Image.Image:
    def make() -> Image.Image | ApiError:
        try:
            return _svg_picture(logo)
        except ApiError as refusal:
            return refusal

    picture = _svg_pictures.get_or_make(digest, make)
    if isinstance(picture, ApiError):
        raise picture.with_traceback(None)  # not the frames of every earlier raise
    return picture


def logo_aspect(logo: bytes, digest: bytes | None = None) -> float:
    """Width / height of the logo's picture; raises ApiError if it cannot be decoded."""
    key = digest or logo_digest(logo)

    def measure() -> float:
        kind = logo_kind(logo)
        if kind == "svg":
            width, height = _svg_picture_cached(logo, key).size
        else:
            width, height = open_raster(logo, kind).size
            check_aspect(width, height)
        return width / height

    return _aspects.get_or_make(key, measure)


def logo_rgba(logo: bytes, width: int, height: int, digest: bytes | None = None) -> Image.Image:
    """The logo as an RGBA image of exactly ``width`` x ``height``.

    The returned image is shared through the cache: callers must not modify it.
    """
    key = (digest or logo_digest(logo), width, height)

    def make() -> Image.Image:
        kind = logo_kind(logo)
        if kind == "svg":
            picture = _svg_picture_cached(logo, key[0])
        else:
            picture = _decoded(open_raster(logo, kind), "logo")
            check_aspect(picture.width, picture.height)
        return picture.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)

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
