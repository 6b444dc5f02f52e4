"""The RabbitMQ side of scan ingest: it feeds the ``scans`` queue's deliveries into an
:class:`~services.analytics.ingest_pipeline.IngestPipeline` and acks or rejects what the
pipeline says. It decides nothing about a message itself.

- Connection: a :class:`~services.runtime.amqp.BrokerConnection`, so a broker that is away at
  start does not stop the service: it keeps trying with exponential backoff (readiness reports
  it not connected meanwhile). Once connected, aio-pika's robust connection owns recovery, the
  QoS and the topology; after a reconnection the subscription is made again on the new
  channel.
- Deliveries are taken from the aiormq channel under aio-pika's robust channel: at thousands
  of messages a second, aio-pika's per-message wrapper (a message object and a second task)
  cost a fifth of the throughput.
- Settlement happens on the channel a delivery came on (tags are per channel; after a
  reconnection the old channel's deliveries were requeued by the broker). A batch is acked with
  ``multiple=True`` on its last delivery; a malformed message is rejected without requeue, which
  the queue dead-letters to ``scans.dlx`` → ``analytics.scans.dead``.
- Lag: the queue's ready-message count, polled with a passive declare on a channel of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
from collections.abc import Callable
from typing import Final

from aio_pika.abc import AbstractChannel, AbstractRobustChannel, AbstractRobustConnection
from aiormq.abc import DeliveredMessage

from services.analytics import metrics
from services.analytics.enriched_publisher import EnrichedScanPublisher
from services.analytics.ingest_pipeline import IngestPipeline
from services.runtime.amqp import BrokerConnection, NotConnectedError, declare_scans_topology
from services.runtime.topics import SCANS_QUEUE

log = logging.getLogger(__name__)


# What the pipeline reads of a delivery: a C-level getter, called once per message.
delivery_body: Final[Callable[[DeliveredMessage], bytes]] = operator.attrgetter("body")


class AmqpSettlement:
    """:class:`~services.analytics.ingest_pipeline.DeliverySettlement` for aiormq deliveries."""

    async def acknowledge_through(self, last: DeliveredMessage) -> None:
        assert last.delivery_tag is not None  # deliveries from basic_consume always carry one
        await last.channel.basic_ack(last.delivery_tag, multiple=True)

    async def dead_letter(self, delivery: DeliveredMessage) -> None:
        assert delivery.delivery_tag is not None
        await delivery.channel.basic_reject(delivery.delivery_tag, requeue=False)

    def message_id(self, delivery: DeliveredMessage) -> str | None:
        return delivery.header.properties.message_id


class ScanQueueTransport:
    def __init__(
        self,
        amqp_url: str,
        pipeline: IngestPipeline[DeliveredMessage],
        *,
        prefetch_count: int,
        lag_poll_s: float = 5.0,
        publisher: EnrichedScanPublisher | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._publisher = publisher
        self._prefetch = prefetch_count
        self._lag_poll_s = lag_poll_s
        self._broker = BrokerConnection(amqp_url, self._set_up, name="scans")
        self._channel: AbstractRobustChannel | None = None
        self._consumer_tag: str | None = None
        self._stopping = False
        self._lag: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Connect, declare the topology and subscribe, in the background, retrying with
        backoff until the broker answers."""
        self._broker.start()

    async def _set_up(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        assert isinstance(channel, AbstractRobustChannel)
        await channel.set_qos(prefetch_count=self._prefetch)
        await declare_scans_topology(channel)  # every start declares it again
        if self._publisher is not None:
            await self._publisher.open(connection)
        self._channel = channel
        channel.reopen_callbacks.add(self._subscribe)
        await self._subscribe(channel)
        self._lag = asyncio.create_task(self._poll_lag(connection), name="scans-lag")

    async def _subscribe(self, channel: AbstractRobustChannel | None, /) -> None:
        """Consume the queue on ``channel``'s current aiormq channel (again after a reopen)."""
        channel = channel or self._channel
        if self._stopping or channel is None:
            return
        underlay = await channel.get_underlay_channel()
        consuming = await underlay.basic_consume(SCANS_QUEUE, self._pipeline.submit)
        self._consumer_tag = consuming.consumer_tag
        log.info("consuming scans", extra={"queue": SCANS_QUEUE, "prefetch": self._prefetch})

    async def check(self) -> None:
        """Readiness: the connection and the consuming channel are open."""
        await self._broker.check()
        if self._channel is None or self._channel.is_closed:
            raise NotConnectedError("the consuming channel is closed")

    async def stop_delivering(self) -> None:
        """Give up connecting and cancel the subscription: no new deliveries reach the
        pipeline (those in flight are still settled until :meth:`close`)."""
        self._stopping = True
        await self._broker.stop_connecting()
        if self._channel is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):  # a closed channel has no consumer to cancel
                underlay = await self._channel.get_underlay_channel()
                await underlay.basic_cancel(self._consumer_tag)

    async def close(self) -> None:
        """Stop polling the lag and close the channel and the connection. Unsettled deliveries
        are requeued by the broker."""
        self._stopping = True
        if self._lag is not None:
            self._lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag
        channel, self._channel = self._channel, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()
        if self._publisher is not None:
            await self._publisher.close()
        await self._broker.close()

    # -- lag ----------------------------------------------------------------------------------

    async def _poll_lag(self, connection: AbstractRobustConnection) -> None:
        """Consumer lag: the queue's ready-message count from a passive declare on its own
        channel (a failed passive declare closes the channel it ran on)."""
        channel: AbstractChannel | None = None
        while True:
            try:
                if channel is None or channel.is_closed:
                    channel = await connection.channel()
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
