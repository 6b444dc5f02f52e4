"""RabbitMQ connections and the durable topic exchanges of :mod:`services.runtime.topics`."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from services.runtime.topics import EVENT_VERSION


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
