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

from services.runtime.amqp import ConfirmingChannel, event_message
from services.runtime.topics import IMPORTS_QUEUE

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S: Final = 2.0
SWEEP_INTERVAL_S: Final = 60.0


def job_message(import_id: str) -> Message:
    return event_message({"import_id": import_id})


async def declare_imports_queue(channel: AbstractChannel) -> None:
    await channel.declare_queue(IMPORTS_QUEUE, durable=True)


async def _queue_channel(channel: AbstractChannel) -> AbstractChannel:
    """Jobs go through the default exchange: the channel, once the queue is declared."""
    await declare_imports_queue(channel)
    return channel


class ImportQueue:
    """The gateway's side: publish a job, with publisher confirms, failing fast."""

    def __init__(self) -> None:
        self._channel = ConfirmingChannel(_queue_channel)

    async def open(self, connection: AbstractRobustConnection) -> None:
        await self._channel.open(connection)

    async def publish(self, import_id: str) -> bool:
        """Whether the broker took the job message (if not, the worker's sweep finds it)."""
        try:
            channel = await asyncio.wait_for(self._channel.ready(), PUBLISH_TIMEOUT_S)
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
        await self._channel.close()
