"""Listens for ``key.revoked`` so this gateway drops a revoked key from its cache at once."""

from __future__ import annotations

import contextlib
import json
import logging

import aiormq.exceptions
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from services.gateway.account.auth import Authenticator
from services.runtime.amqp import declare_topic_exchange
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE

log = logging.getLogger(__name__)


class RevocationListener:
    """One exclusive, auto-deleted queue per gateway: every replica hears every revocation."""

    def __init__(self, connection: AbstractRobustConnection, authenticator: Authenticator) -> None:
        self._connection = connection
        self._authenticator = authenticator
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    async def start(self) -> None:
        channel = await self._connection.channel()
        exchange = await declare_topic_exchange(channel, KEYS_EXCHANGE)
        self._queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self._queue.bind(exchange, routing_key=KEY_REVOKED)
        self._tag = await self._queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                key_id = json.loads(message.body)["key_id"]
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring malformed key.revoked event")
                return
            self._authenticator.evict_key(str(key_id))

    async def stop(self) -> None:
        if self._queue is not None and self._tag is not None:
            # A channel that already closed (the connection went first) has nothing to cancel.
            with contextlib.suppress(aiormq.exceptions.ChannelInvalidStateError):
                await self._queue.cancel(self._tag)
