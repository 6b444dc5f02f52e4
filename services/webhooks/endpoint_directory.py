"""Which active endpoints each account has, cached for the intake's matching.

Every scan of every account is matched, so the answer (most often "none") is cached per
account for ``ttl_s``. This replica's own changes (create, update, delete, a disable) evict the
account at once; another replica's are seen within the TTL.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.webhooks.events import EndpointFilter
from services.webhooks.storage import WebhookStore

MAX_ACCOUNTS = 100_000


class EndpointDirectory:
    def __init__(self, store: WebhookStore, ttl_s: float) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._cached: dict[str, tuple[float, list[EndpointFilter]]] = {}

    def evict(self, account_id: str) -> None:
        self._cached.pop(account_id, None)

    async def endpoints_of(self, account_ids: Sequence[str]) -> dict[str, list[EndpointFilter]]:
        now = time.monotonic()
        found: dict[str, list[EndpointFilter]] = {}
        missing: list[str] = []
        for account_id in account_ids:
            cached = self._cached.get(account_id)
            if cached is not None and cached[0] > now:
                found[account_id] = cached[1]
            else:
                missing.append(account_id)
        if missing:
            loaded = await self._store.active_filters(missing)
            if len(self._cached) + len(loaded) > MAX_ACCOUNTS:
                self._cached.clear()
            for account_id, endpoints in loaded.items():
                self._cached[account_id] = (now + self._ttl_s, endpoints)
                found[account_id] = endpoints
        return found
