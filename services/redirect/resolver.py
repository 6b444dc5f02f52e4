"""Short code → record: the cache first, Postgres on a miss (one query per code at a time),
and the stale cached entry when Postgres fails."""

from __future__ import annotations

import asyncio
import logging
import time

from services.redirect import metrics
from services.redirect.code_cache import CodeCache, Miss
from services.redirect.codes import CodeRecord
from services.redirect.storage import CodeStore, DatabaseUnavailableError

log = logging.getLogger(__name__)


class CodeResolver:
    def __init__(self, cache: CodeCache, store: CodeStore) -> None:
        self.cache = cache
        self._store = store
        self._loading: dict[str, asyncio.Future[CodeRecord | None]] = {}

    async def resolve(self, code: str) -> CodeRecord | None:
        """Raises :class:`DatabaseUnavailableError` when neither Postgres nor the cache knows."""
        cached = self.cache.fresh(code, time.monotonic())
        if not isinstance(cached, Miss):
            metrics.counts.cache_hit += 1
            return cached
        metrics.counts.cache_miss += 1
        loading = self._loading.get(code)
        if loading is None:
            loading = asyncio.ensure_future(self._load(code))
            self._loading[code] = loading
            loading.add_done_callback(lambda _f: self._loading.pop(code, None))
        return await asyncio.shield(loading)

    async def _load(self, code: str) -> CodeRecord | None:
        generation = self.cache.generation
        try:
            record = await self._store.fetch(code)
        except DatabaseUnavailableError:
            metrics.database_errors_total.inc()
            stale = self.cache.stale(code)
            if isinstance(stale, Miss):
                raise
            metrics.counts.cache_stale += 1
            return stale
        if self.cache.generation == generation:
            self.cache.put(code, record, time.monotonic())
        else:
            # An eviction or expiry (a catalog event, a broker reconnection) ran meanwhile: this
            # read may predate it, so it is kept only as the fallback for when Postgres is down.
            self.cache.put_stale(code, record)
        return record

    def mark_exhausted(self, record: CodeRecord) -> None:
        self.cache.replace(record.key, record.exhausted())
