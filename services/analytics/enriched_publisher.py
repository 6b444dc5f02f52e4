"""Publishes the scans analytics just stored, enriched, on ``scans.enriched`` for the services
that react to scans (webhooks, the gateway's live stream): one enrichment, in analytics, that
the others consume instead of repeating it (no copy of the GeoIP and user-agent code, and the
customer sees the same country and device in a webhook as in the stats).

The ingest pipeline calls :meth:`EnrichedScanPublisher.publish` after a batch is in ClickHouse
and before the batch is acked: persistent messages on a durable topic exchange, with publisher
confirms, so a failure raises and the pipeline retries (the batch stays unacked meanwhile;
consumers deduplicate on ``event_id`` what a retry or a redelivery sends twice). What is
published carries no IP and no visitor hash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from services.analytics.enrichment import ScanRow
from services.runtime.amqp import ConfirmingChannel, topic_exchange
from services.runtime.enriched_scans import (
    ENRICHED_SCANS_EXCHANGE,
    SCAN_ENRICHED,
    EnrichedScan,
    encode_batch,
)

SCANS_PER_MESSAGE: Final = 500
PUBLISH_TIMEOUT_S: Final = 5.0


def enriched(row: ScanRow) -> EnrichedScan:
    return EnrichedScan(
        event_id=row.event_id,
        account_id=row.account_id,
        qr_id=row.qr_id,
        scanned_at=row.ts,
        country=row.country,
        city=row.city,
        device=row.device,
        os=row.os,
        browser=row.browser,
        referrer_host=row.referrer,
        bot=row.is_bot,
        rule=row.rule,
        variant=row.variant,
    )


class EnrichedScanPublisher:
    def __init__(self) -> None:
        self._channel = ConfirmingChannel(topic_exchange(ENRICHED_SCANS_EXCHANGE))

    async def open(self, connection: AbstractRobustConnection) -> None:
        """Declare the exchange on ``connection`` (a broker connection's set-up step)."""
        await self._channel.open(connection)

    async def publish(self, rows: Sequence[ScanRow]) -> None:
        """Publish ``rows`` and wait for the broker's confirms; raises when any is not
        confirmed (the caller retries the whole batch)."""
        if not rows:
            return
        exchange = await self._channel.ready()
        messages = [
            aio_pika.Message(
                encode_batch([enriched(row) for row in rows[start : start + SCANS_PER_MESSAGE]]),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            for start in range(0, len(rows), SCANS_PER_MESSAGE)
        ]
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            await asyncio.gather(
                *(exchange.publish(message, routing_key=SCAN_ENRICHED) for message in messages)
            )

    async def close(self) -> None:
        await self._channel.close()
