"""Publishing ``key.revoked`` so every gateway drops its cached copy of a key at once.

Publishing is best effort by design: the revocation is already committed in Postgres, and when
the broker is away the gateways' short cache TTL bounds how long a revoked key keeps working.
A failed publish is logged and counted, never turned into a failed RevokeKey.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from services.keys.metrics import revocation_publish_failures_total
from services.runtime.amqp import declare_topic_exchange, event_message, open_connection
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE

log = logging.getLogger(__name__)

RECONNECT_DELAY_S: Final = 5.0


class NotConnectedError(RuntimeError):
    """The broker connection is not (or no longer) open."""


class RevocationPublisher:
    """One robust connection with a publisher-confirms channel on the ``keys`` exchange.

    If the broker is down at start-up the service still starts (authentication does not need
    the broker): a background task keeps trying, and readiness reports the gap meanwhile. Once
    connected, aio-pika's robust connection restores the channel by itself.
    """

    def __init__(self, url: str, publish_timeout_s: float) -> None:
        self._url = url
        self._publish_timeout_s = publish_timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        connection = await open_connection(self._url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            self._exchange = await declare_topic_exchange(channel, KEYS_EXCHANGE)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def _connect_until_done(self) -> None:
        while True:
            await asyncio.sleep(RECONNECT_DELAY_S)
            try:
                await self._connect()
            except Exception as exc:
                log.warning("broker still unreachable", extra={"error": type(exc).__name__})
            else:
                log.info("broker connected")
                return

    async def start(self) -> None:
        try:
            await self._connect()
        except Exception as exc:
            log.warning(
                "broker unreachable at start-up; revocations are not broadcast until it is back",
                extra={"error": type(exc).__name__},
            )
            self._connecting = asyncio.create_task(self._connect_until_done(), name="amqp-connect")

    async def check(self) -> None:
        """Readiness: raises unless the connection is open."""
        if self._connection is None or self._connection.is_closed:
            raise NotConnectedError("no broker connection")

    async def publish_revoked(self, key_id: str, account_id: str) -> bool:
        """True once the broker confirmed the event; False (logged, counted) otherwise."""
        message = event_message({"key_id": key_id, "account_id": account_id})
        try:
            if self._exchange is None:
                raise NotConnectedError("no broker connection")
            # Not mandatory: no gateway listening is not a failure.
            await asyncio.wait_for(
                self._exchange.publish(message, routing_key=KEY_REVOKED, mandatory=False),
                self._publish_timeout_s,
            )
        except Exception as exc:
            revocation_publish_failures_total.inc()
            log.error(
                "key.revoked not published; gateways will drop the key when their cache expires",
                extra={"key_id": key_id, "error": type(exc).__name__},
            )
            return False
        return True

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._exchange = None
