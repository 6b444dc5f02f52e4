"""The delivery log keeps 30 days: finished deliveries older than that are deleted hourly
(pending ones never: they are within their 24 h retry window). The same loop refreshes the
oldest-pending-delivery age that the alert watches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Final

from services.webhooks import metrics
from services.webhooks.storage import WebhookStore

log = logging.getLogger(__name__)

PURGE_EVERY_S: Final = 3600.0
GAUGE_EVERY_S: Final = 15.0


class DeliveryLogRetention:
    def __init__(self, store: WebhookStore, keep_days: int) -> None:
        self._store = store
        self._keep_days = keep_days
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhooks-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        last_purge = 0.0
        while True:
            try:
                if time.monotonic() - last_purge >= PURGE_EVERY_S:
                    purged = await self._store.purge_deliveries(self._keep_days)
                    last_purge = time.monotonic()
                    if purged:
                        log.info("delivery log purged", extra={"deliveries": purged})
                oldest = await self._store.oldest_pending()
                age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
                metrics.oldest_pending_seconds.set(max(age, 0.0))
            except Exception as exc:  # Postgres away: next round
                log.warning("delivery log upkeep failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(GAUGE_EVERY_S)
