"""Tells every redirect replica that a dynamic code changed or went away (``catalog`` exchange).

Published after the database commit, with publisher confirms. If the broker is away the change
still stands: the redirect caches' TTL bounds how long a replica can serve the old state, and
the failure is counted so an operator sees it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from services.gateway.metrics import catalog_events_total
from services.runtime.amqp import declare_topic_exchange, event_message
from services.runtime.topics import CATALOG_EXCHANGE

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S: Final = 2.0


class CatalogEvents:
    def __init__(self, connection: AbstractRobustConnection) -> None:
        self._connection = connection
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ready_exchange(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None or self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=True)
                self._exchange = await declare_topic_exchange(self._channel, CATALOG_EXCHANGE)
            return self._exchange

    async def publish(self, event: str, qr_id: str, short_code: str) -> None:
        try:
            exchange = await asyncio.wait_for(self._ready_exchange(), PUBLISH_TIMEOUT_S)
            message = event_message({"qr_id": qr_id, "short_code": short_code})
            await asyncio.wait_for(exchange.publish(message, routing_key=event), PUBLISH_TIMEOUT_S)
        except Exception:  # any broker failure: the change stands, the caches' TTL catches up
            catalog_events_total.labels(event, "failed").inc()
            log.warning("catalog event not published", extra={"event": event, "qr_id": qr_id})
            self._exchange = None
            return
        catalog_events_total.labels(event, "published").inc()

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
