"""Listens for ``key.revoked`` so this gateway drops a revoked key from its cache at once.

It subscribes as a set-up step of the gateway's broker connection
(:class:`~services.runtime.amqp.BrokerConnection`, made in the background with backoff), and
aio-pika's robust connection restores the queue, its binding and the consumer after a broker
restart. While the broker is away (at start or later) revocations are not heard and the
gateway reports not ready; a key revoked meanwhile stays in the auth cache until the link is
back, when every cached key is dropped and checked again (and never past ``AUTH_CACHE_TTL_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Final

import aiormq.exceptions
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from services.gateway.account.auth import Authenticator
from services.runtime.amqp import declare_topic_exchange
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE

log = logging.getLogger(__name__)

CANCEL_TIMEOUT_S: Final = 2.0


class RevocationListener:
    """One exclusive, auto-deleted queue per gateway: every replica hears every revocation."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Bind this gateway's queue and consume it on ``connection``."""
        channel = await connection.channel()
        exchange = await declare_topic_exchange(channel, KEYS_EXCHANGE)
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self._queue.bind(exchange, routing_key=KEY_REVOKED)
        self._tag = await self._queue.consume(self._on_message)
        # Revocations published while this gateway was not listening (before the first
        # connection, or between a drop and a reconnect: the queue is deleted with its
        # connection) are lost, so keys cached meanwhile are checked again.
        self._authenticator.forget_all()
        connection.reconnect_callbacks.add(self._forget_cached_keys)

    def _forget_cached_keys(self, *_: object) -> None:
        self._authenticator.forget_all()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                key_id = json.loads(message.body)["key_id"]
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring malformed key.revoked event")
                return
            self._authenticator.evict_key(str(key_id))

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
