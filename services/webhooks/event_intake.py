"""From the broker to stored deliveries: the ``webhooks.events`` queue, bound to analytics'
enriched scans (``scans.enriched``) and the gateway's catalog changes (``catalog``).

A message is acknowledged only once the deliveries it makes are in Postgres (at least once:
a crash before that redelivers it, and the ``(webhook_id, event_id)`` key makes the second
copy a no-op). The stored deliveries are leased to this process and handed to the dispatcher
straight away. A failing insert is retried with backoff while the message stays unacked (the
prefetch bounds what waits in memory); a message that cannot be read goes to the dead-letter
queue ``webhooks.events.dead``.

Messages that arrive while an insert is out share the next one (a
:class:`~services.runtime.coalescing.Coalescer`, as a group commit): one statement and one
commit for many messages under load, no added wait when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Final

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection

from services.runtime.amqp import BrokerConnection, NotConnectedError, declare_topic_exchange
from services.runtime.coalescing import Coalescer
from services.runtime.enriched_scans import ENRICHED_SCANS_EXCHANGE, SCAN_ENRICHED
from services.runtime.ids import new_id
from services.runtime.topics import (
    CATALOG_EXCHANGE,
    CODE_CREATED,
    CODE_DELETED,
    CODE_UPDATED,
    WEBHOOK_EVENTS_QUEUE,
    WEBHOOKS_DEAD_LETTER_EXCHANGE,
    WEBHOOKS_DEAD_LETTER_QUEUE,
)
from services.webhooks import metrics
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoint_directory import EndpointDirectory
from services.webhooks.events import (
    EndpointFilter,
    MalformedEventError,
    WebhookEvent,
    catalog_event,
    matching,
    scan_events,
)
from services.webhooks.records import ClaimedDelivery, NewDelivery
from services.webhooks.storage import WebhookStore

log = logging.getLogger(__name__)

RETRY_FIRST_S: Final = 0.1
RETRY_MAX_S: Final = 5.0
# Messages per insert, and inserts out at once (the pool also serves the dispatcher and gRPC).
MESSAGES_PER_INSERT: Final = 32
INSERTS_IN_FLIGHT: Final = 2


def deliveries_for(
    events: Sequence[WebhookEvent], endpoints: Mapping[str, Sequence[EndpointFilter]]
) -> list[NewDelivery]:
    deliveries: list[NewDelivery] = []
    for event in events:
        wanted = matching(endpoints.get(event.account_id, ()), event)
        metrics.events_total.labels("matched" if wanted else "unmatched").inc()
        deliveries.extend(
            NewDelivery(
                new_id("msg"),
                webhook_id,
                event.account_id,
                event.event_id,
                event.event_type,
                event.body,
            )
            for webhook_id in wanted
        )
    return deliveries


class EventIntake:
    def __init__(
        self,
        amqp_url: str,
        store: WebhookStore,
        directory: EndpointDirectory,
        dispatcher: Dispatcher,
        *,
        prefetch_count: int,
        lease_s: float,
    ) -> None:
        self._store = store
        self._directory = directory
        self._dispatcher = dispatcher
        self._prefetch = prefetch_count
        self._lease_s = lease_s
        self._broker = BrokerConnection(amqp_url, self._set_up, name="webhooks")
        self._channel: AbstractRobustChannel | None = None
        self._consumer_tag: str | None = None
        self._stopping = asyncio.Event()
        self._inserts: Coalescer[list[WebhookEvent], list[ClaimedDelivery]] = Coalescer(
            "webhook_deliveries",
            self._insert_for_messages,
            max_batch=MESSAGES_PER_INSERT,
            max_in_flight=INSERTS_IN_FLIGHT,
        )

    def start(self) -> None:
        self._broker.start()

    async def _set_up(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        assert isinstance(channel, AbstractRobustChannel)
        await channel.set_qos(prefetch_count=self._prefetch)
        dead_exchange = await declare_topic_exchange(channel, WEBHOOKS_DEAD_LETTER_EXCHANGE)
        dead_queue = await channel.declare_queue(WEBHOOKS_DEAD_LETTER_QUEUE, durable=True)
        await dead_queue.bind(dead_exchange, "#")
        queue = await channel.declare_queue(
            WEBHOOK_EVENTS_QUEUE,
            durable=True,
            arguments={"x-dead-letter-exchange": WEBHOOKS_DEAD_LETTER_EXCHANGE},
        )
        scans = await declare_topic_exchange(channel, ENRICHED_SCANS_EXCHANGE)
        await queue.bind(scans, SCAN_ENRICHED)
        catalog = await declare_topic_exchange(channel, CATALOG_EXCHANGE)
        for routing_key in (CODE_CREATED, CODE_UPDATED, CODE_DELETED):
            await queue.bind(catalog, routing_key)
        self._channel = channel
        # aio-pika's robust channel restores this consumer after a reconnection.
        self._consumer_tag = await queue.consume(self._on_message)
        log.info("consuming webhook events", extra={"queue": WEBHOOK_EVENTS_QUEUE})

    async def check(self) -> None:
        await self._broker.check()
        if self._channel is None or self._channel.is_closed:
            raise NotConnectedError("the consuming channel is closed")

    def _events_of(self, message: AbstractIncomingMessage) -> list[WebhookEvent]:
        if message.exchange == ENRICHED_SCANS_EXCHANGE:
            return scan_events(message.body)
        event = catalog_event(message.routing_key or "", message.body)
        if event is None:
            metrics.events_total.labels("skipped").inc()
            return []
        return [event]

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._stopping.is_set():
            return  # left unacked: redelivered to the next consumer
        try:
            events = self._events_of(message)
        except MalformedEventError as exc:
            metrics.events_total.labels("dead_lettered").inc()
            log.warning(
                "malformed event dead-lettered",
                extra={"exchange": message.exchange, "error": str(exc)[:200]},
            )
            with contextlib.suppress(Exception):
                await message.reject(requeue=False)
            return
        delay = RETRY_FIRST_S
        while True:
            try:
                claimed = await self._store_deliveries(events)
                break
            except Exception as exc:  # Postgres away: keep the message, try again
                metrics.store_failures_total.labels("intake").inc()
                log.warning(
                    "storing deliveries failed; message kept unacked, retrying",
                    extra={"error": type(exc).__name__, "retry_in_s": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    return
                delay = min(delay * 2, RETRY_MAX_S)
        self._dispatcher.submit(claimed)
        with contextlib.suppress(Exception):  # a lost ack: redelivered, then deduplicated
            await message.ack()

    async def _store_deliveries(self, events: list[WebhookEvent]) -> list[ClaimedDelivery]:
        if not events:
            return []
        return await self._inserts.submit(events)

    async def _insert_for_messages(
        self, messages: Sequence[list[WebhookEvent]]
    ) -> list[list[ClaimedDelivery]]:
        """One insert for the events of several messages; each message gets back the
        deliveries it made (a failure fails them all: each keeps its message unacked)."""
        accounts = sorted({event.account_id for events in messages for event in events})
        endpoints = await self._directory.endpoints_of(accounts)
        made = [deliveries_for(events, endpoints) for events in messages]
        claimed = await self._store.insert_deliveries(
            [delivery for deliveries in made for delivery in deliveries], self._lease_s
        )
        by_id = {delivery.delivery_id: delivery for delivery in claimed}
        return [
            [by_id[d.delivery_id] for d in deliveries if d.delivery_id in by_id]
            for deliveries in made
        ]

    async def stop_delivering(self) -> None:
        self._stopping.set()
        await self._broker.stop_connecting()
        if self._channel is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                queue = await self._channel.get_queue(WEBHOOK_EVENTS_QUEUE, ensure=False)
                await queue.cancel(self._consumer_tag)

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()
        await self._broker.close()
