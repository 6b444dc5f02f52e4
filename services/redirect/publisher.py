"""Scan events from the request path to the ``scans`` exchange, never lost silently.

The request path calls :meth:`ScanPublisher.offer` (no await, no I/O in the common case). One
task publishes batches (up to ``batch_max`` events, or whatever arrived within ``linger_s``) as
persistent messages on a publisher-confirms channel, one batch in flight at a time so the
broker sees events in order and a failure has an exact extent.

When the broker is unreachable, when a publish is not confirmed, or when the buffer is full,
events go to the disk :class:`~services.redirect.spool.Spool`. While the spool holds events
they are replayed first, oldest first, and removed only once their batch was confirmed, so
the order on the wire is the order of the scans. If even the disk fails the events are counted
in ``qrforge_redirect_events_lost_total`` and logged.

Shutdown (:meth:`close`): within a bounded wait, publish what is spooled and buffered (in that
order) while the broker is reachable; whatever is left is spooled for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Final

from services.redirect import metrics
from services.redirect.broker import BrokerLink, BrokerSession
from services.redirect.scan_messages import Capture, event_message_for, to_events
from services.redirect.spool import Spool
from services.runtime.topics import SCAN_RECORDED

log = logging.getLogger(__name__)

SPILL_INTERVAL_S: Final = 0.2
IDLE_WAKEUP_S: Final = 1.0
REPLAY_BATCH: Final = 500


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class ScanPublisher:
    def __init__(
        self,
        broker: BrokerLink,
        spool: Spool,
        *,
        capacity: int,
        batch_max: int,
        linger_s: float,
        publish_timeout_s: float,
    ) -> None:
        self._broker = broker
        self._spool = spool
        self._capacity = capacity
        self._batch_max = batch_max
        self._linger_s = linger_s
        self._publish_timeout_s = publish_timeout_s
        self._buffer: deque[Capture] = deque()
        self._wakeup = asyncio.Event()
        self._draining = False
        self._in_flight: list[str] | None = None
        self._task: asyncio.Task[None] | None = None
        metrics.buffer_events.set_function(lambda: len(self._buffer))
        metrics.spool_events.set_function(lambda: self._spool.size)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def spooled(self) -> int:
        return self._spool.size

    # -- request path --------------------------------------------------------------------------

    def offer(self, item: Capture) -> None:
        self._buffer.append(item)
        if len(self._buffer) >= self._capacity:
            self._spill_buffer()
        self._wakeup.set()

    # -- spooling ------------------------------------------------------------------------------

    def _spool_events(self, events: Sequence[str]) -> None:
        if not events:
            return
        try:
            self._spool.append(events)
        except OSError:
            metrics.events_lost_total.inc(len(events))
            log.exception("spool write failed: scan events lost", extra={"events": len(events)})
            return
        metrics.events_spooled_total.inc(len(events))

    def _spill_buffer(self) -> None:
        captures = list(self._buffer)
        self._buffer.clear()
        self._spool_events(to_events(captures))

    def _sync_spool(self) -> None:
        try:
            self._spool.sync()
        except OSError:
            log.exception("spool fsync failed")

    # -- publishing ----------------------------------------------------------------------------

    async def _publish(self, session: BrokerSession, events: Sequence[str]) -> bool:
        message = event_message_for(events)
        try:
            await asyncio.wait_for(
                session.scans.publish(message, routing_key=SCAN_RECORDED, mandatory=False),
                self._publish_timeout_s,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not confirmed, whatever the reason: retried from the spool
            metrics.publish_failures_total.inc()
            log.warning(
                "scan batch not confirmed",
                extra={"events": len(events), "error": type(exc).__name__},
            )
            self._broker.broken(session)
            return False
        metrics.events_published_total.inc(len(events))
        return True

    async def _publish_live(self, session: BrokerSession) -> None:
        count = min(len(self._buffer), self._batch_max)
        events = to_events([self._buffer.popleft() for _ in range(count)])
        self._in_flight = events  # left set if cancelled: close() spools it
        ok = await self._publish(session, events)
        self._in_flight = None
        if not ok:
            self._spool_events(events)
            self._sync_spool()

    async def _replay_one(self, session: BrokerSession) -> None:
        batch = self._spool.peek(REPLAY_BATCH)
        if batch is None:
            return
        if batch.events and not await self._publish(session, batch.events):
            return
        self._spool.commit(batch)

    async def _step(self) -> bool:
        """One step of the loop; ``False`` once a drain is complete."""
        session = self._broker.session
        if self._draining and (session is None or not (self._buffer or self._spool.size)):
            return False
        if session is None:
            if self._buffer:
                self._spill_buffer()
            self._sync_spool()
            await _wait(self._broker.connected, SPILL_INTERVAL_S)
            return True
        if self._spool.size:
            self._sync_spool()  # spills done by offer() when the buffer was full
            await self._replay_one(session)
            return True
        if not self._buffer:
            self._wakeup.clear()
            await _wait(self._wakeup, IDLE_WAKEUP_S)
            return True
        if len(self._buffer) < self._batch_max and not self._draining:
            await asyncio.sleep(self._linger_s)
        await self._publish_live(session)
        return True

    async def _run(self) -> None:
        while True:
            try:
                if not await self._step():
                    return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scan publisher step failed")
                await asyncio.sleep(IDLE_WAKEUP_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scan-publisher")

    async def close(self, timeout_s: float) -> None:
        """Publish the spool and the buffer within ``timeout_s``; spool whatever is left."""
        self._draining = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                log.warning("flush timed out; spooling the rest")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        leftovers = list(self._in_flight or [])
        self._in_flight = None
        leftovers.extend(to_events(list(self._buffer)))
        self._buffer.clear()
        self._spool_events(leftovers)
        self._sync_spool()
        if leftovers:
            log.info("spooled events at shutdown", extra={"events": len(leftovers)})
