"""Public images already drawn, by strong ETag, so a hot ``/i/<id>.<ext>`` is not re-rendered.

The ETag is a hash of the whole render request (format and size included) and the renderer
generation, so one ETag always means the same bytes: an entry never goes stale, and a code
whose design changes simply has a new ETag. The cache is bounded by the bytes of the images it
holds (least recently used out first); an image larger than the whole bound is not kept.
Concurrent misses for one ETag share a single render instead of each drawing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from cachetools import LRUCache
from prometheus_client import Counter, Gauge

if TYPE_CHECKING:  # backends.render needs the context, which holds this cache
    from services.gateway.backends.render import Rendered

image_cache_lookups_total: Final = Counter(
    "qrforge_gateway_image_cache_lookups_total",
    "Public image lookups in the gateway's image cache, by outcome (hit, miss, shared: "
    "waited for a render another request had started).",
    ["outcome"],
)
image_cache_bytes: Final = Gauge(
    "qrforge_gateway_image_cache_bytes", "Bytes of images held in the gateway's image cache"
)


def _image_bytes(image: Rendered) -> int:
    return len(image.data)


class ImageCache:
    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._images: LRUCache[str, Rendered] = LRUCache(
            maxsize=max(1, max_bytes), getsizeof=_image_bytes
        )
        self._drawing: dict[str, asyncio.Future[Rendered]] = {}

    async def get_or_draw(self, etag: str, draw: Callable[[], Awaitable[Rendered]]) -> Rendered:
        """The image with ``etag``: from the cache, else drawn by ``draw`` (once, however many
        requests ask for it meanwhile) and kept. A failed draw is not kept: the next asks
        again."""
        image = self._images.get(etag)
        if image is not None:
            image_cache_lookups_total.labels("hit").inc()
            return image
        drawing = self._drawing.get(etag)
        if drawing is None:
            image_cache_lookups_total.labels("miss").inc()
            drawing = asyncio.ensure_future(draw())
            self._drawing[etag] = drawing
            drawing.add_done_callback(lambda done: self._keep(etag, done))
        else:
            image_cache_lookups_total.labels("shared").inc()
        # Shielded: one requester hanging up must not cancel the render the others wait for.
        return await asyncio.shield(drawing)

    def _keep(self, etag: str, drawing: asyncio.Future[Rendered]) -> None:
        del self._drawing[etag]
        if drawing.cancelled() or drawing.exception() is not None:
            return  # the requesters got the error; nothing to keep
        image = drawing.result()
        if _image_bytes(image) <= self._max_bytes:
            self._images[etag] = image
            image_cache_bytes.set(self._images.currsize)
