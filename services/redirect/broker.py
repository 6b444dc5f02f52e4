"""The broker link: one AMQP connection per replica, opened and re-opened with backoff.

It carries two channels: the ``scans`` exchange with publisher confirms (used by
:mod:`services.redirect.publisher`) and this replica's own exclusive, auto-deleted queue on the
``catalog`` exchange, whose ``code.updated`` / ``code.deleted`` events evict cache entries.

A plain (not robust) connection on purpose: the publisher must know exactly when the link is
down (to spool) and when it is back (to replay), and after any gap the cache may have missed
catalog events, so ``on_connected`` runs on every (re)connection to mark the cache stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractExchange, AbstractIncomingMessage

from services.redirect import metrics
from services.runtime.amqp import declare_scans_topology, declare_topic_exchange
from services.runtime.topics import CATALOG_EXCHANGE, CODE_DELETED, CODE_UPDATED

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S: Final = 0.25
BACKOFF_MAX_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class BrokerSession:
    connection: AbstractConnection
    scans: AbstractExchange


def parse_catalog_event(body: bytes) -> dict[str, Any] | None:
    """``{"v": 1, "qr_id": …, "short_code": …}`` or ``None`` when unreadable."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    if not isinstance(data.get("short_code"), str) and not isinstance(data.get("qr_id"), str):
        return None
    return data


class BrokerLink:
    def __init__(
        self,
        url: str,
        on_catalog_event: Callable[[dict[str, Any]], None],
        on_connected: Callable[[], None],
    ) -> None:
        self._url = url
        self._on_catalog_event = on_catalog_event
        self._on_connected = on_connected
        self.session: BrokerSession | None = None
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-link")

    async def _setup(self, connection: AbstractConnection) -> BrokerSession:
        publishing = await connection.channel(publisher_confirms=True)
        scans, _ = await declare_scans_topology(publishing)
        consuming = await connection.channel(publisher_confirms=False)
        catalog = await declare_topic_exchange(consuming, CATALOG_EXCHANGE)
        queue = await consuming.declare_queue(exclusive=True, auto_delete=True)
        for routing_key in (CODE_UPDATED, CODE_DELETED):
            await queue.bind(catalog, routing_key=routing_key)
        await queue.consume(self._on_message, no_ack=True)
        return BrokerSession(connection, scans)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        event = parse_catalog_event(message.body)
        if event is None:
            log.warning("ignoring malformed catalog event", extra={"key": message.routing_key})
            return
        self._on_catalog_event(event)

    async def _run(self) -> None:
        backoff = BACKOFF_INITIAL_S
        while True:
            try:
                connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:  # any failure to connect: retry later
                log.warning("broker unreachable", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            self._connection = connection
            lost = asyncio.Event()
            connection.close_callbacks.add(lambda *_args, lost=lost: lost.set())
            try:
                session = await self._setup(connection)
            except Exception as exc:
                log.warning("broker setup failed", extra={"error": type(exc).__name__})
                with contextlib.suppress(Exception):
                    await connection.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_INITIAL_S
            self.session = session
            self.connected.set()
            metrics.broker_connected.set(1)
            log.info("broker connected")
            self._on_connected()
            await lost.wait()
            self.session = None
            self.connected.clear()
            metrics.broker_connected.set(0)
            self._connection = None
            log.warning("broker connection lost")

    def broken(self, session: BrokerSession) -> None:
        """A publish failed on ``session``: drop the connection so it is opened again."""
        if self.session is session:
            self.session = None
            self.connected.clear()
            metrics.broker_connected.set(0)
            asyncio.get_running_loop().create_task(self._close_quietly(session.connection))

    @staticmethod
    async def _close_quietly(connection: AbstractConnection) -> None:
        with contextlib.suppress(Exception):
            await connection.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.session = None
        self.connected.clear()
        metrics.broker_connected.set(0)
        if self._connection is not None:
            await self._close_quietly(self._connection)
            self._connection = None
