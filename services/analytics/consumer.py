"""The scans consumer: a chain of small named steps, after snuba's consumers.

    deliver → decode → validate → enrich → batch (size or age) → insert → ack(multiple)

- Deliveries are taken from the aiormq channel under aio-pika's robust channel: at thousands
  of messages a second, aio-pika's per-message wrapper (a message object and a second task)
  cost a fifth of the throughput. aio-pika still owns the connection, its recovery, the QoS
  and the topology; after a reconnection the subscription is made again on the new channel.
- ``_on_message`` runs decode, validate and enrich without awaiting anything before the rows
  are in the batch (so deliveries, each started as a task in arrival order, join batches
  strictly in tag order), then adds the rows to the open batch. A message that cannot be decoded
  or validated is rejected without requeue: the queue dead-letters it to ``scans.dlx`` →
  ``analytics.scans.dead``. It never loops back into the queue.
- One writer task closes batches when full or due, inserts them, and only after the insert
  succeeded acknowledges the batch's last delivery with ``multiple=True``. A failed insert is
  retried with exponential backoff while the batch stays unacked; prefetch (≥ one batch) makes
  the broker stop delivering meanwhile, so the backlog waits in RabbitMQ, not in memory.
- :meth:`ScanConsumer.stop` cancels the subscription, flushes the open batch, acks it and
  closes the channel and connection. Whatever could not be flushed stays unacked and is
  redelivered to the next consumer; the table's deduplication makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from aio_pika.abc import (
    AbstractChannel,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aiormq.abc import DeliveredMessage

from services.analytics import metrics
from services.analytics.batching import Batch, Batcher
from services.analytics.decoding import MalformedMessageError, decode_and_validate
from services.analytics.enrichment import Enricher, ScanRow
from services.runtime.amqp import declare_scans_topology, open_connection
from services.runtime.topics import (
    SCANS_QUEUE,
)

log = logging.getLogger(__name__)

InsertRows = Callable[[Sequence[ScanRow]], Awaitable[float]]
"""Inserts a batch, returns its duration in seconds, raises on failure."""

RETRY_FIRST_DELAY_S: Final = 0.1


class NotConnectedError(RuntimeError):
    """The broker connection or the consuming channel is not open."""


class ScanConsumer:
    def __init__(
        self,
        amqp_url: str,
        enricher: Enricher,
        insert: InsertRows,
        *,
        batch_max_events: int,
        batch_max_wait_s: float,
        prefetch_count: int,
        retry_max_s: float = 5.0,
        lag_poll_s: float = 5.0,
    ) -> None:
        self._url = amqp_url
        self._enricher = enricher
        self._insert = insert
        self._batcher: Batcher[DeliveredMessage] = Batcher(batch_max_events, batch_max_wait_s)
        self._prefetch = prefetch_count
        self._retry_max_s = retry_max_s
        self._lag_poll_s = lag_poll_s
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._consumer_tag: str | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._abandon = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._lag: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, declare the topology, start the writer and subscribe. Raises when the
        broker is unreachable (the process then exits and is restarted by its supervisor)."""
        self._connection = await open_connection(self._url)
        channel = await self._connection.channel()
        assert isinstance(channel, AbstractRobustChannel)
        self._channel = channel
        await channel.set_qos(prefetch_count=self._prefetch)
        await declare_scans_topology(channel)  # every start declares it again
        self._writer = asyncio.create_task(self._write_batches(), name="scans-writer")
        self._lag = asyncio.create_task(self._poll_lag(), name="scans-lag")
        channel.reopen_callbacks.add(self._subscribe)
        await self._subscribe(channel)

    async def _subscribe(self, channel: AbstractRobustChannel | None, /) -> None:
        """Consume the queue on ``channel``'s current aiormq channel (again after a reopen)."""
        channel = channel or self._channel
        if self._stopping or channel is None:
            return
        underlay = await channel.get_underlay_channel()
        consuming = await underlay.basic_consume(SCANS_QUEUE, self._on_message)
        self._consumer_tag = consuming.consumer_tag
        log.info("consuming scans", extra={"queue": SCANS_QUEUE, "prefetch": self._prefetch})

    async def check(self) -> None:
        """Readiness: the connection and the consuming channel are open."""
        if self._connection is None or self._connection.is_closed:
            raise NotConnectedError("no broker connection")
        if self._channel is None or self._channel.is_closed:
            raise NotConnectedError("the consuming channel is closed")

    async def stop(self, grace_s: float) -> None:
        """Stop consuming, flush and ack the open batch within ``grace_s``, close."""
        self._stopping = True
        if self._channel is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):  # a closed channel has no consumer to cancel
                underlay = await self._channel.get_underlay_channel()
                await underlay.basic_cancel(self._consumer_tag)
        self._wake.set()
        if self._writer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), grace_s)
            except TimeoutError:
                log.warning(
                    "flush did not finish in the grace period; its messages stay unacked and will be redelivered",
                    extra={"pending_events": self._batcher.pending_events},
                )
                self._abandon.set()
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
        if self._lag is not None:
            self._lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
        if self._connection is not None:
            await self._connection.close()

    # -- decode → validate → enrich → batch ---------------------------------------------------

    async def _on_message(self, message: DeliveredMessage) -> None:
        if self._stopping and self._writer is not None and self._writer.done():
            return  # after the final flush: left unacked, redelivered to the next consumer
        try:
            scans = decode_and_validate(message.body, datetime.now(UTC))
        except MalformedMessageError as exc:
            await self._dead_letter(message, exc)
            return
        rows = self._enricher.enrich_many(scans)
        self._batcher.add(message, rows, time.monotonic())
        if self._batcher.is_full:
            self._wake.set()
        elif self._batcher.pending_events == len(rows):
            self._wake.set()  # a new batch opened: the writer starts its age clock

    async def _dead_letter(self, message: DeliveredMessage, exc: MalformedMessageError) -> None:
        log.warning(
            "malformed scan message dead-lettered",
            extra={
                "reason": exc.reason,
                "error": str(exc)[:300],
                "message_id": message.header.properties.message_id,
            },
        )
        assert message.delivery_tag is not None
        try:
            await message.channel.basic_reject(message.delivery_tag, requeue=False)
        except Exception as error:
            # The channel closed: the broker redelivers the message, and it comes back here.
            log.warning("dead-lettering failed", extra={"error": type(error).__name__})
            return
        metrics.dead_letters_total.labels(exc.reason).inc()
        metrics.events_total.labels("dead_lettered").inc(exc.events)

    # -- batch → insert → ack -----------------------------------------------------------------

    async def _next_batch(self) -> Batch[DeliveredMessage] | None:
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
            await self._ack(batch)

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

    async def _ack(self, batch: Batch[DeliveredMessage]) -> None:
        """Acknowledge the batch up to its last delivery, on the channel it came on (tags are
        per channel; after a reconnection the old channel's deliveries were requeued)."""
        last = batch.last
        if last is None or last.delivery_tag is None:
            return
        try:
            await last.channel.basic_ack(last.delivery_tag, multiple=True)
        except Exception as exc:
            metrics.ack_failures_total.inc()
            log.warning(
                "batch inserted but its ack failed; the broker will redeliver it (deduplicated)",
                extra={"messages": batch.messages, "error": type(exc).__name__},
            )

    # -- lag ----------------------------------------------------------------------------------

    async def _poll_lag(self) -> None:
        """Consumer lag: the queue's ready-message count from a passive declare on its own
        channel (a failed passive declare closes the channel it ran on)."""
        channel: AbstractChannel | None = None
        while True:
            try:
                if channel is None or channel.is_closed:
                    assert self._connection is not None
                    channel = await self._connection.channel()
                declared = await channel.declare_queue(SCANS_QUEUE, passive=True)
                count = declared.declaration_result.message_count
                metrics.queue_messages.set(count or 0)
            except asyncio.CancelledError:
                if channel is not None and not channel.is_closed:
                    with contextlib.suppress(Exception):
                        await channel.close()
                raise
            except Exception as exc:
                log.debug("queue depth poll failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._lag_poll_s)
