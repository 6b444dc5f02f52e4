"""The scan ingest pipeline, after snuba's processing strategies, independent of any broker:

    submit → decode → validate → enrich → batch (size or age) → insert → publish → settle

A transport feeds it deliveries (opaque handles ``D``; ``body_of`` reads their bytes) and
carries out what it decides through :class:`DeliverySettlement`; the pipeline never sees a
connection or a channel.

- :meth:`IngestPipeline.submit` decodes, validates and enriches without awaiting anything before
  the rows are in the batch, so deliveries, each started as a task in arrival order, join
  batches strictly in arrival order. A message that cannot be decoded or validated is
  dead-lettered at once: it never loops back into the queue.
- One writer task closes batches when full or due, inserts them, and only after the insert
  succeeded settles the batch's last delivery (``acknowledge_through``: every delivery up to it).
  A failed insert is retried with exponential backoff while the batch stays unsettled; the
  transport's prefetch (at least one batch) stops deliveries meanwhile, so the backlog waits in
  the broker, not in memory.
- Between the insert and the ack, the batch's enriched scans are published (``publish``, for
  webhooks and the live stream); a failed publish is retried the same way, without inserting
  again, and the batch stays unsettled until it succeeded (at least once: consumers
  deduplicate on ``event_id``).
- :meth:`IngestPipeline.drain` flushes the open batch and settles it within a grace period.
  Whatever could not be flushed stays unsettled and is redelivered to the next consumer; the
  table's deduplication makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Generic, Protocol, TypeVar

from services.analytics import metrics
from services.analytics.batching import Batch, Batcher
from services.analytics.decoding import MalformedMessageError, decode_and_validate
from services.analytics.enrichment import Enricher, ScanRow

log = logging.getLogger(__name__)

D = TypeVar("D")
D_contra = TypeVar("D_contra", contravariant=True)

InsertRows = Callable[[Sequence[ScanRow]], Awaitable[float]]
"""Inserts a batch, returns its duration in seconds, raises on failure."""

PublishRows = Callable[[Sequence[ScanRow]], Awaitable[None]]
"""Publishes a stored batch's enriched scans (with confirms), raises on failure."""

RETRY_FIRST_DELAY_S: Final = 0.1


class DeliverySettlement(Protocol[D_contra]):
    """What the transport does with a delivery once the pipeline has decided its fate."""

    async def acknowledge_through(self, last: D_contra) -> None:
        """Settle ``last`` and every earlier unsettled delivery of its stream; raises when the
        transport lost them (they are then redelivered)."""

    async def dead_letter(self, delivery: D_contra) -> None:
        """Reject ``delivery`` for good (to the dead-letter queue); raises when the transport
        lost it (it is then redelivered and comes back through the pipeline)."""

    def message_id(self, delivery: D_contra) -> str | None:
        """The delivery's message id, for logs."""


class IngestPipeline(Generic[D]):
    def __init__(
        self,
        enricher: Enricher,
        insert: InsertRows,
        settlement: DeliverySettlement[D],
        body_of: Callable[[D], bytes],
        *,
        batch_max_events: int,
        batch_max_wait_s: float,
        retry_max_s: float = 5.0,
        publish: PublishRows | None = None,
    ) -> None:
        self._enricher = enricher
        self._insert = insert
        self._publish = publish
        self._settlement = settlement
        self._body_of = body_of
        self._batcher: Batcher[D] = Batcher(batch_max_events, batch_max_wait_s)
        self._retry_max_s = retry_max_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._abandon = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    @property
    def pending_events(self) -> int:
        """Events batched but not yet inserted."""
        return self._batcher.pending_events

    def start(self) -> None:
        """Start the writer task (once, before the first :meth:`submit`)."""
        self._writer = asyncio.create_task(self._write_batches(), name="scans-writer")

    async def drain(self, grace_s: float) -> None:
        """Flush, insert and settle the open batch within ``grace_s``; after that, deliveries
        that still arrive are left unsettled. Call once the transport stopped delivering."""
        self._stopping = True
        self._wake.set()
        if self._writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), grace_s)
        except TimeoutError:
            log.warning(
                "flush did not finish in the grace period; its messages stay unacked and will be redelivered",
                extra={"pending_events": self._batcher.pending_events},
            )
            self._abandon.set()
            self._writer.cancel()
            # The writer ends cancelled, or with the failed insert's error when the abandon
            # woke it first: either way the batch stays unsettled, which is the point.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    # -- decode → validate → enrich → batch ---------------------------------------------------

    async def submit(self, delivery: D) -> None:
        """One delivery in: its rows join the open batch, or it is dead-lettered. Fit to be
        the transport's delivery callback itself (no hop in between at thousands a second)."""
        if self._stopping and self._writer is not None and self._writer.done():
            return  # after the final flush: left unsettled, redelivered to the next consumer
        try:
            scans = decode_and_validate(self._body_of(delivery), datetime.now(UTC))
        except MalformedMessageError as exc:
            await self._dead_letter(delivery, exc)
            return
        rows = self._enricher.enrich_many(scans)
        self._batcher.add(delivery, rows, time.monotonic())
        if self._batcher.is_full:
            self._wake.set()
        elif self._batcher.pending_events == len(rows):
            self._wake.set()  # a new batch opened: the writer starts its age clock

    async def _dead_letter(self, delivery: D, exc: MalformedMessageError) -> None:
        log.warning(
            "malformed scan message dead-lettered",
            extra={
                "reason": exc.reason,
                "error": str(exc)[:300],
                "message_id": self._settlement.message_id(delivery),
            },
        )
        try:
            await self._settlement.dead_letter(delivery)
        except Exception as error:
            # The transport lost it: it is redelivered, and comes back here.
            log.warning("dead-lettering failed", extra={"error": type(error).__name__})
            return
        metrics.dead_letters_total.labels(exc.reason).inc()
        metrics.events_total.labels("dead_lettered").inc(exc.events)

    # -- batch → insert → settle ----------------------------------------------------------------

    async def _next_batch(self) -> Batch[D] | None:
        """The next batch to write, waiting until one is full or due; ``None`` once stopping
        with nothing left."""
        while True:
            now = time.monotonic()
            if self._stopping or self._batcher.is_due(now):
                batch = self._batcher.take()
                if batch is not None or self._stopping:
                    return batch
            self._wake.clear()
            left = self._batcher.time_left(now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)

    async def _write_batches(self) -> None:
        while True:
            batch = await self._next_batch()
            if batch is None:
                return
            if batch.rows:
                await self._insert_with_retry(batch.rows)
                if self._publish is not None:
                    await self._publish_with_retry(self._publish, batch.rows)
            await self._acknowledge(batch)

    async def _insert_with_retry(self, rows: list[ScanRow]) -> None:
        delay = RETRY_FIRST_DELAY_S
        while True:
            try:
                duration = await self._insert(rows)
            except Exception as exc:
                metrics.events_total.labels("retried").inc(len(rows))
                log.warning(
                    "insert failed; batch kept unacked, retrying",
                    extra={
                        "events": len(rows),
                        "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                        "retry_in_s": delay,
                    },
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._abandon.wait(), delay)
                if self._abandon.is_set():
                    raise
                delay = min(delay * 2, self._retry_max_s)
                continue
            metrics.batch_events.observe(len(rows))
            metrics.insert_duration_seconds.observe(duration)
            metrics.events_total.labels("inserted").inc(len(rows))
            return

    async def _publish_with_retry(self, publish: PublishRows, rows: list[ScanRow]) -> None:
        delay = RETRY_FIRST_DELAY_S
        while True:
            try:
                await publish(rows)
            except Exception as exc:
                metrics.publish_failures_total.inc()
                log.warning(
                    "publishing enriched scans failed; batch kept unacked, retrying",
                    extra={
                        "events": len(rows),
                        "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                        "retry_in_s": delay,
                    },
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._abandon.wait(), delay)
                if self._abandon.is_set():
                    raise
                delay = min(delay * 2, self._retry_max_s)
                continue
            metrics.events_total.labels("published").inc(len(rows))
            return

    async def _acknowledge(self, batch: Batch[D]) -> None:
        if batch.last is None:
            return
        try:
            await self._settlement.acknowledge_through(batch.last)
        except Exception as exc:
            metrics.ack_failures_total.inc()
            log.warning(
                "batch inserted but its ack failed; the broker will redeliver it (deduplicated)",
                extra={"messages": batch.messages, "error": type(exc).__name__},
            )
