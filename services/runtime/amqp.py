"""RabbitMQ connections and the durable topic exchanges of :mod:`services.runtime.topics`."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

from services.runtime.topics import (
    EVENT_VERSION,
    SCANS_DEAD_LETTER_EXCHANGE,
    SCANS_DEAD_LETTER_QUEUE,
    SCANS_EXCHANGE,
    SCANS_QUEUE,
)


async def open_connection(url: str) -> AbstractRobustConnection:
    """A connection that reconnects by itself and restores its channels, queues and bindings."""
    return await aio_pika.connect_robust(url, timeout=5)


async def declare_topic_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


def event_message(payload: dict[str, Any]) -> aio_pika.Message:
    """A persistent JSON message carrying the current event version."""
    body = json.dumps({"v": EVENT_VERSION, **payload}, separators=(",", ":")).encode()
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def declare_scans_topology(
    channel: AbstractChannel,
) -> tuple[AbstractExchange, AbstractQueue]:
    """The durable ``scans`` exchange, the analytics queue bound to every scan, and its
    dead-letter path.

    Both sides declare it (idempotently, with identical arguments): scans published before the
    analytics service ever ran still wait in the durable queue instead of being unroutable.
    """
    exchange = await declare_topic_exchange(channel, SCANS_EXCHANGE)
    dead_exchange = await declare_topic_exchange(channel, SCANS_DEAD_LETTER_EXCHANGE)
    dead_queue = await channel.declare_queue(SCANS_DEAD_LETTER_QUEUE, durable=True)
    await dead_queue.bind(dead_exchange, "#")
    queue = await channel.declare_queue(
        SCANS_QUEUE,
        durable=True,
        arguments={"x-dead-letter-exchange": SCANS_DEAD_LETTER_EXCHANGE},
    )
    await queue.bind(exchange, "#")
    return exchange, queue
