"""``last_used_at`` bookkeeping off the request path.

Authentication only notes the key id in memory; a background task writes every noted key in
one batched UPDATE every few seconds and once more on shutdown. A per-request write would put
a row lock and a WAL record on the hottest path for a value nobody needs to the second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Final

from services.keys.metrics import last_used_flush_failures_total

log = logging.getLogger(__name__)

STOP_TIMEOUT_S: Final = 5.0

FlushBatch = Callable[[Mapping[str, datetime]], Awaitable[None]]
"""Writes ``{key_id: last used at}`` to storage."""


class LastUsedRecorder:
    def __init__(self, write: FlushBatch, interval_s: float) -> None:
        self._write = write
        self._interval_s = interval_s
        self._pending: dict[str, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, key_id: str, at: datetime) -> None:
        previous = self._pending.get(key_id)
        if previous is None or at > previous:
            self._pending[key_id] = at

    async def flush(self) -> None:
        """Write what is pending; on failure keep it for the next round instead of losing it."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await self._write(batch)
        except Exception:
            last_used_flush_failures_total.inc()
            log.exception("last_used_at flush failed", extra={"keys": len(batch)})
            for key_id, at in batch.items():
                self.record(key_id, at)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="last-used-flush")

    async def stop(self) -> None:
        """Stop the periodic task, then write what is still pending, each within
        :data:`STOP_TIMEOUT_S`: a database that stopped answering must not hold the shutdown
        (seen once in CI: a cancelled flush stuck in the driver for 300 s)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_S)
            self._task = None
        pending = self.pending
        final = asyncio.create_task(self.flush())
        done, _ = await asyncio.wait({final}, timeout=STOP_TIMEOUT_S)
        if not done:
            final.cancel()
            log.error("last_used_at not written at shutdown", extra={"keys": pending})
