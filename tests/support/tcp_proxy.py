"""A small fault-injecting TCP proxy for the reliability tests: it sits between a service (the
redirect's publisher, the analytics consumer) and RabbitMQ and can cut every connection and
refuse new ones for a while.

A cut stops the client→broker direction at once (nothing the client sends afterwards reaches
the broker) but lets broker→client bytes through for ``drain_s`` before closing both sides, so
confirms for messages the broker already took still arrive. That keeps "exactly once" testable:
a cut that also drops in-flight confirms leaves the outcome of those publishes unknown, which
at-least-once delivery resolves with a duplicate (analytics deduplicates on ``event_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.close()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self.refusing = False
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        link = _Link(writer, up_writer)
        link.tasks = [
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        ]
        self._links.add(link)
        await asyncio.gather(*link.tasks, return_exceptions=True)
        self._links.discard(link)

    async def cut(self, drain_s: float = 0.5) -> None:
        """Refuse new connections and drop every open one (see the module docstring)."""
        self.refusing = True
        links = list(self._links)
        for link in links:
            link.tasks[0].cancel()  # client -> broker stops now
        await asyncio.sleep(drain_s)
        for link in links:
            link.tasks[1].cancel()
            for writer in (link.client, link.upstream):
                with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                    writer.close()

    def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        await self.cut(drain_s=0)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
