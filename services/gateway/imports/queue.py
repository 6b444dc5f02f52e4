"""The import job queue (``gateway.imports``, durable): the gateway publishes one message per
upload, after the upload committed; the import worker consumes them.

A message only says "work on this job": the job and its lines are in Postgres. So a lost
publish (broker away at upload time) loses nothing -- the worker also picks up every
unfinished job when it starts and every :data:`SWEEP_INTERVAL_S` -- and a duplicate costs
nothing (lines are claimed, not re-done).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aio_pika import Message
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from services.runtime.amqp import NotConnectedError, event_message
from services.runtime.topics import IMPORTS_QUEUE

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S: Final = 2.0
SWEEP_INTERVAL_S: Final = 60.0


def job_message(import_id: str) -> Message:
    return event_message({"import_id": import_id})


async def declare_imports_queue(channel: AbstractChannel) -> None:
    await channel.declare_queue(IMPORTS_QUEUE, durable=True)


class ImportQueue:
    """The gateway's side: publish a job, with publisher confirms, failing fast."""

    def __init__(self) -> None:
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def open(self, connection: AbstractRobustConnection) -> None:
        self._connection = connection
        self._channel = None
        await self._ready_channel()

    async def _ready_channel(self) -> AbstractChannel:
        connection = self._connection
        if connection is None or connection.is_closed or not connection.connected.is_set():
            raise NotConnectedError("no broker connection")
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                channel = await connection.channel(publisher_confirms=True)
                await declare_imports_queue(channel)
                self._channel = channel
            return self._channel

    async def publish(self, import_id: str) -> bool:
        """Whether the broker took the job message (if not, the worker's sweep finds it)."""
        try:
            channel = await asyncio.wait_for(self._ready_channel(), PUBLISH_TIMEOUT_S)
            await asyncio.wait_for(
                channel.default_exchange.publish(job_message(import_id), routing_key=IMPORTS_QUEUE),
                PUBLISH_TIMEOUT_S,
            )
        except Exception as exc:  # the job stands in Postgres; the worker's sweep runs it
            log.warning(
                "import job message not published",
                extra={"import_id": import_id, "error": type(exc).__name__},
            )
            return False
        return True

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            try:
                await asyncio.wait_for(channel.close(), PUBLISH_TIMEOUT_S)
            except Exception:  # a broker that stopped answering must not hold the shutdown
                log.debug("closing the import queue channel failed", exc_info=True)
