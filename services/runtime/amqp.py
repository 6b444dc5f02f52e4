"""RabbitMQ connections and the durable topic exchanges of :mod:`services.runtime.topics`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.connection import make_url

from services.runtime.topics import (
    EVENT_VERSION,
    SCANS_DEAD_LETTER_EXCHANGE,
    SCANS_DEAD_LETTER_QUEUE,
    SCANS_EXCHANGE,
    SCANS_QUEUE,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 5.0
CLOSE_TIMEOUT_S: Final = 2.0
CONNECT_FIRST_DELAY_S: Final = 0.5
CONNECT_MAX_DELAY_S: Final = 10.0


class NotConnectedError(ConnectionError):
    """The broker connection is not open (not yet, or not at the moment)."""


BrokerSetup = Callable[[AbstractRobustConnection], Awaitable[None]]
"""Opens a user's channels, declares its topology and subscribes, on a fresh connection."""


class BrokerConnection:
    """One robust connection that a service opens without waiting for the broker.

    :meth:`start` connects in the background and retries with exponential backoff (jittered,
    :data:`CONNECT_FIRST_DELAY_S` doubling up to :data:`CONNECT_MAX_DELAY_S`) until the broker
    answers and ``setup`` succeeded on the new connection (a failed setup closes that connection
    and counts as a failed attempt). A broker away at start therefore never stops a service from
    starting; :meth:`check` fails meanwhile, for readiness or a ``/readyz`` report. Once set up,
    aio-pika's robust connection owns recovery: after a broker restart it reopens the channels
    and restores their exchanges, queues, bindings and consumers, and :meth:`check` fails while
    it is away.

    This is the one reconnect loop the robust-connection users share (gateway, keys,
    analytics); the redirect's :mod:`~services.redirect.broker` keeps a plain connection on
    purpose (it must see every gap to spool and replay scans).
    """

    def __init__(self, url: str, setup: BrokerSetup, *, name: str = "broker") -> None:
        self._url = url
        self._setup = setup
        self._name = name
        self._connection: AbstractRobustConnection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self.set_up = asyncio.Event()  # set once ``setup`` succeeded (and never cleared)

    @property
    def connection(self) -> AbstractRobustConnection | None:
        """The connection once ``setup`` succeeded on it, else None."""
        return self._connection if self.set_up.is_set() else None

    def start(self) -> None:
        self._connecting = asyncio.create_task(
            self._connect_with_backoff(), name=f"{self._name}-connect"
        )

    async def _connect_with_backoff(self) -> None:
        delay = CONNECT_FIRST_DELAY_S
        while True:
            # Made before it connects, so a stop that cancels the attempt can still close it.
            connection = aio_pika.RobustConnection(make_url(self._url))
            self._connection = connection
            try:
                await connection.connect(timeout=CONNECT_TIMEOUT_S)
                await self._setup(connection)
            except Exception as exc:  # any failure to connect or set up: retry later
                log.warning(
                    "broker unreachable; retrying",
                    extra={
                        "link": self._name,
                        "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                        "retry_in_s": delay,
                    },
                )
                self._connection = None
                await _close_quietly(connection)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, CONNECT_MAX_DELAY_S)
                continue
            self.set_up.set()
            log.info("broker connected", extra={"link": self._name})
            return

    async def check(self) -> None:
        """Raises :class:`NotConnectedError` unless set up and connected right now."""
        connection = self.connection
        if connection is None or connection.is_closed or not connection.connected.is_set():
            raise NotConnectedError(f"{self._name}: no broker connection")

    async def stop_connecting(self) -> None:
        """Give up connecting (a connection already set up stays open until :meth:`close`)."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None

    async def close(self) -> None:
        await self.stop_connecting()
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close_quietly(connection)


async def _close_quietly(connection: AbstractRobustConnection) -> None:
    # It may never have finished opening, and a broker that stopped answering must not hold a
    # shutdown until the process is killed.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_S)


Declared = TypeVar("Declared")


class ConfirmingChannel(Generic[Declared]):
    """A publisher-confirms channel on a broker connection, opened on first use and again after
    the broker closed it, with ``declare`` run on each new channel (it returns what publishers
    use: an exchange, or the channel itself). Fails fast while the connection is down."""

    def __init__(self, declare: Callable[[AbstractChannel], Awaitable[Declared]]) -> None:
        self._declare = declare
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._declared: Declared | None = None
        self._lock = asyncio.Lock()

    async def open(self, connection: AbstractRobustConnection) -> None:
        """Use ``connection`` from now on (a broker connection's set-up step)."""
        self._connection, self._channel, self._declared = connection, None, None
        await self.ready()

    async def ready(self) -> Declared:
        connection = self._connection
        if connection is None or connection.is_closed or not connection.connected.is_set():
            raise NotConnectedError("no broker connection")
        async with self._lock:
            if self._declared is None or self._channel is None or self._channel.is_closed:
                self._channel = await connection.channel(publisher_confirms=True)
                self._declared = await self._declare(self._channel)
            return self._declared

    async def close(self) -> None:
        channel, self._channel, self._declared = self._channel, None, None
        if channel is not None and not channel.is_closed:
            # A broker that stopped answering must not hold the shutdown.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.close(), CLOSE_TIMEOUT_S)


def topic_exchange(name: str) -> Callable[[AbstractChannel], Awaitable[AbstractExchange]]:
    """A ``declare`` for :class:`ConfirmingChannel`: the durable topic exchange ``name``."""

    async def declare(channel: AbstractChannel) -> AbstractExchange:
        return await declare_topic_exchange(channel, name)

    return declare


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
