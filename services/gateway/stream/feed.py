"""This gateway's consumer of ``scans.enriched``: every enriched scan, handed to the hub.

One exclusive, auto-deleted queue per gateway process (every replica needs every scan: its
streams are its own), subscribed as a set-up step of the gateway's broker connection
(:class:`~services.runtime.amqp.BrokerConnection`); aio-pika's robust connection declares,
binds and consumes it again after a broker restart. Scans stored while the link is down are not
seen by this replica's streams (the stream is live-only, see :mod:`services.gateway.stream`).

The queue is capped on the broker (``x-max-length``, oldest dropped) and consumed with a
prefetch window, so a gateway that cannot keep up grows neither its own memory nor RabbitMQ's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import aiormq.exceptions
import msgspec
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from services.gateway.metrics import enriched_scan_messages_total
from services.gateway.stream.hub import ScanStreamHub
from services.runtime.amqp import declare_topic_exchange
from services.runtime.enriched_scans import ENRICHED_SCANS_EXCHANGE, SCAN_ENRICHED, decode_batch

log = logging.getLogger(__name__)

PREFETCH: Final = 64
MAX_BACKLOG_MESSAGES: Final = 10_000
CANCEL_TIMEOUT_S: Final = 2.0


class EnrichedScanFeed:
    def __init__(self, hub: ScanStreamHub) -> None:
        self._hub = hub
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Bind this gateway's queue and consume it on ``connection``."""
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        exchange = await declare_topic_exchange(channel, ENRICHED_SCANS_EXCHANGE)
        self._queue = await channel.declare_queue(
            exclusive=True,
            auto_delete=True,
            arguments={"x-max-length": MAX_BACKLOG_MESSAGES, "x-overflow": "drop-head"},
        )
        await self._queue.bind(exchange, routing_key=SCAN_ENRICHED)
        self._tag = await self._queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                scans = decode_batch(message.body)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                enriched_scan_messages_total.labels("malformed").inc()
                log.warning(
                    "ignoring a malformed enriched-scan message", extra={"error": str(exc)[:200]}
                )
                return
            self._hub.publish(scans)
            enriched_scan_messages_total.labels("fanned_out").inc()

    async def stop(self) -> None:
        queue, tag, self._queue, self._tag = self._queue, self._tag, None, None
        if queue is not None and tag is not None:
            # A channel that already closed (the connection went first, or the broker is away)
            # has nothing to cancel.
            with contextlib.suppress(
                aiormq.exceptions.ChannelInvalidStateError,
                aiormq.exceptions.AMQPError,
                TimeoutError,
            ):
                await asyncio.wait_for(queue.cancel(tag), CANCEL_TIMEOUT_S)
