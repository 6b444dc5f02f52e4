"""A Server-Sent Events reader for the tests and the bench: the frames of an open
``text/event-stream`` response, parsed as the WHATWG event-stream format says (a field per line,
``name: value``; a blank line ends the frame; a line starting with ``:`` is a comment)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Frame:
    event: str = ""  # "" for a frame of comments only
    id: str | None = None
    data: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads("\n".join(self.data))


class EventStream:
    """Frames are read by a task of their own as they arrive, so waiting for one with a
    timeout never cancels a read half-way through the response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read_all())

    async def _read_all(self) -> None:
        try:
            while (frame := await self._read_frame()) is not None:
                self._frames.put_nowait(frame)
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            pass  # closed under it: the end of the stream too
        self._frames.put_nowait(None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self.response.close()

    async def next_frame(self, timeout_s: float = 5.0) -> Frame | None:
        """The next frame, or None once the server ended the stream (a frame cut short by the
        end is discarded, as EventSource does)."""
        return await asyncio.wait_for(self._frames.get(), timeout_s)

    async def _read_frame(self) -> Frame | None:
        frame = Frame()
        while True:
            raw = await self.response.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n").rstrip("\r")
            if not line:
                if frame.event or frame.data or frame.comments or frame.id is not None:
                    return frame
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "event":
                frame.event = value
            elif name == "id":
                frame.id = value
            elif name == "data":
                frame.data.append(value)

    async def next_event(self, timeout_s: float = 5.0) -> Frame:
        """The next frame that is an event (comments skipped); fails if the stream ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            frame = await self.next_frame(max(0.0, deadline - loop.time()))
            assert frame is not None, "the stream ended"
            if frame.event or frame.data:
                return frame
