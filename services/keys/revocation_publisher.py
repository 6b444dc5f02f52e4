"""Publishing ``key.revoked`` so every gateway drops its cached copy of a key at once.

Publishing is best effort by design: the revocation is already committed in Postgres, and when
the broker is away the gateways' short cache TTL bounds how long a revoked key keeps working.
A failed publish is logged and counted, never turned into a failed RevokeKey.
"""

from __future__ import annotations

import asyncio
import logging

from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from services.keys.metrics import revocation_publish_failures_total
from services.runtime.amqp import (
    BrokerConnection,
    declare_topic_exchange,
    event_message,
)
from services.runtime.topics import KEY_REVOKED, KEYS_EXCHANGE

log = logging.getLogger(__name__)


class RevocationPublisher:
    """A publisher-confirms channel on the ``keys`` exchange, over a
    :class:`~services.runtime.amqp.BrokerConnection`.

    A broker that is down at start-up does not stop the service (authentication does not need
    the broker): the connection is made in the background with backoff, revocations meanwhile
    fail to publish at once (logged, counted), and ``/readyz`` reports the gap without failing.
    Once connected, aio-pika's robust connection restores the channel by itself.
    """

    def __init__(self, url: str, publish_timeout_s: float) -> None:
        self._publish_timeout_s = publish_timeout_s
        self._exchange: AbstractExchange | None = None
        self.broker = BrokerConnection(url, self._set_up, name="keys-revocations")

    async def _set_up(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        self._exchange = await declare_topic_exchange(channel, KEYS_EXCHANGE)

    def start(self) -> None:
        """Connect in the background (see :class:`~services.runtime.amqp.BrokerConnection`)."""
        self.broker.start()

    async def check(self) -> None:
        """Raises unless the connection is open."""
        await self.broker.check()

    async def publish_revoked(self, key_id: str, account_id: str) -> bool:
        """True once the broker confirmed the event; False (logged, counted) otherwise."""
        message = event_message({"key_id": key_id, "account_id": account_id})
        try:
            # Fails at once while the broker is away, rather than after the timeout.
            await self.broker.check()
            assert self._exchange is not None  # set up before check() passes
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
        await self.broker.close()
