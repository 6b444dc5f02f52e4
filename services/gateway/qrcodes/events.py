"""Announces catalog changes on the ``catalog`` exchange: ``code.updated`` / ``code.deleted``
tell every redirect replica to evict a code it may have cached; with ``code.created`` they are
also what the webhooks service turns into customer events. Each event names its account and
carries an ``event_id`` (the webhooks service's deduplication key), the code's kind and its
short code (``null`` for a static code: a redirect evicts by ``qr_id`` then).

Published after the database commit, with publisher confirms, on the gateway's broker
connection (:class:`~services.runtime.amqp.BrokerConnection`, made in the background).

When the broker is away (not connected yet, or reconnecting) the event is not published, and
that is safe: the change already stands in Postgres, so the publish fails at once rather than
holding the request (no queueing, no waiting for a broker that is not there), is logged and
counted as ``qrforge_gateway_catalog_events_total{outcome="failed"}``, and the request
succeeds. A redirect replica that had the code cached serves its old state for at most its
cache TTL (``REDIRECT_CACHE_TTL_S``, 60 s); a replica that itself lost the broker marks its
whole cache stale when it reconnects. Meanwhile this gateway reports not ready, so a load
balancer sends the writes to replicas that can announce them.

``code.created`` is published without holding the request (:meth:`CatalogEvents.publish_soon`):
no cache depends on it, and a generate must not wait for a broker round trip. Those publishes
are tracked and awaited on close.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Final

from aio_pika.abc import AbstractRobustConnection

from services.gateway.metrics import catalog_events_total
from services.gateway.qrcodes.records import StoredQR
from services.runtime.amqp import ConfirmingChannel, event_message, topic_exchange
from services.runtime.ids import new_id
from services.runtime.topics import CATALOG_EXCHANGE, CODE_UPDATED

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S: Final = 2.0


class CatalogEvents:
    def __init__(self) -> None:
        self._channel = ConfirmingChannel(topic_exchange(CATALOG_EXCHANGE))
        self._background: set[asyncio.Task[None]] = set()

    async def open(self, connection: AbstractRobustConnection) -> None:
        """Declare the exchange on ``connection`` (a broker connection's set-up step)."""
        await self._channel.open(connection)

    async def publish(self, event: str, record: StoredQR) -> None:
        """A change of ``record``: redirect replicas evict it, webhooks tell its account."""
        await self._publish(
            event,
            {
                "event_id": new_id("evt"),
                "account_id": record.account_id,
                "qr_id": record.qr_id,
                "short_code": record.short_code,
                # The code's short domain key ("" = the default domain).
                "domain": record.domain,
                "kind": record.kind,
                "ts": datetime.now(UTC).isoformat(),
            },
        )

    async def evict_short_url(self, qr_id: str, short_code: str, domain: str) -> None:
        """Redirect replicas forget what they cached under a short URL (a 404 of a slug tried
        before its code existed). No event or account id: not a change customers hear of."""
        await self._publish(
            CODE_UPDATED, {"qr_id": qr_id, "short_code": short_code, "domain": domain}
        )

    async def _publish(self, event: str, payload: dict[str, object]) -> None:
        try:
            exchange = await asyncio.wait_for(self._channel.ready(), PUBLISH_TIMEOUT_S)
            message = event_message(payload)
            await asyncio.wait_for(exchange.publish(message, routing_key=event), PUBLISH_TIMEOUT_S)
        except (
            Exception
        ) as exc:  # any broker failure: the change stands, the caches' TTL catches up
            catalog_events_total.labels(event, "failed").inc()
            log.warning(
                "catalog event not published",
                extra={"event": event, "qr_id": payload["qr_id"], "error": type(exc).__name__},
            )
            return  # a channel the failure closed is opened again by the next publish
        catalog_events_total.labels(event, "published").inc()

    def publish_soon(self, event: str, record: StoredQR) -> None:
        """Publish in the background (awaited on :meth:`close`)."""
        task = asyncio.create_task(self.publish(event, record))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self._background:
            await asyncio.wait(list(self._background), timeout=PUBLISH_TIMEOUT_S * 2)
        await self._channel.close()
