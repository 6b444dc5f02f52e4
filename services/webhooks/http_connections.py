"""Keep-alive HTTP/1.1 connections for webhook POSTs, one exchange at a time on each.

A delivery needs one narrow thing from HTTP: send a small POST, learn the status, read (and
throw away) at most ``max_body`` bytes of the answer, and keep the connection when the answer
allows it. aiohttp's general client spent about 4 times the CPU of the whole exchange on
machinery this does not use (cookies, redirects, decompression, tracing, multidict headers),
and that CPU bounded how many deliveries one process makes a second.

The answer is read as RFC 9112 frames it: 1xx interim answers skipped, no body for 204/304,
``Transfer-Encoding: chunked`` (trailers discarded), else ``Content-Length``, else up to the
close. A connection is reused only after a complete HTTP/1.1 answer without
``Connection: close`` whose body fit under the cap; anything unexpected (a malformed answer,
bytes after it, a cut) closes it. Where the connection goes (vetted addresses, TLS) is the
caller's choice: see :mod:`services.webhooks.http_delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Sequence
from typing import Final

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_CHUNK_LINE: Final = 1024
# Servers commonly close idle keep-alive connections after 5 to 60 s; one idle longer than this
# is not trusted to be open any more.
IDLE_S: Final = 4.0


class InvalidAnswerError(Exception):
    """The peer's answer is not HTTP/1.x as RFC 9112 frames it."""


class ConnectionLostError(ConnectionError):
    """The connection ended before a complete answer."""

    def __init__(self, answered: bool) -> None:
        super().__init__("connection closed before a complete answer")
        self.answered = answered  # some bytes of an answer had arrived


class _Http1Connection(asyncio.Protocol):
    """One connection; :meth:`exchange` sends a request and waits for its answer's status."""

    def __init__(self, max_body: int) -> None:
        self._max_body = max_body
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[int] | None = None
        self._buffer = bytearray()
        self._status = 0
        self._state = "idle"  # idle | head | length | chunk_size | chunk_data | chunk_end
        # | trailers | until_close | done
        self._remaining = 0
        self._body_read = 0
        self._answered = False
        self.reusable = False
        self.closed = False
        self.idle_since = time.monotonic()

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # nothing was asked: a peer that talks out of turn is not reused
            return
        self._answered = True
        self._buffer += data
        try:
            self._parse()
        except InvalidAnswerError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        if self._state == "until_close":
            self._finish(reusable=False)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._state == "until_close":
            self._finish(reusable=False)
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionLostError(self._answered))

    # -- use ------------------------------------------------------------------------------------

    async def exchange(self, request: bytes) -> int:
        """Send ``request`` (head and body) and return the answer's status once the answer is
        read; ``reusable`` then says whether another exchange may follow."""
        if self._transport is None or self.closed:
            raise ConnectionLostError(answered=False)
        self._waiter = asyncio.get_running_loop().create_future()
        self._state, self._answered, self.reusable = "head", False, False
        self._buffer.clear()
        self._body_read = 0
        self._transport.write(request)
        try:
            return await self._waiter
        finally:
            self._waiter = None
            self.idle_since = time.monotonic()

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None and not self.closed:
            self.closed = True
            self._transport.abort()  # never linger on an answer not wanted any more

    # -- reading the answer ---------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _finish(self, *, reusable: bool) -> None:
        self._state = "done"
        self.reusable = reusable and not self._buffer and not self.closed
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(self._status)
        if not self.reusable:
            self.close()

    def _take_body(self, size: int) -> bool:
        """Count ``size`` body bytes (dropped); False once past the cap."""
        del self._buffer[:size]
        self._body_read += size
        if self._body_read > self._max_body:
            self._finish(reusable=False)  # the status counts; the rest is never read
            return False
        return True

    def _line(self, limit: int) -> bytes | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > limit:
                raise InvalidAnswerError("line too long")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _parse(self) -> None:
        while self._state != "done":
            state = self._state
            if state == "head":
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD_BYTES:
                        raise InvalidAnswerError("header section too large")
                    return
                head = bytes(self._buffer[:end])
                del self._buffer[: end + 4]
                self._start_body(head)
            elif state == "length":
                size = min(self._remaining, len(self._buffer))
                self._remaining -= size
                if not self._take_body(size):
                    return
                if self._remaining:
                    return
                self._finish(reusable=self.reusable)
            elif state == "until_close":
                self._take_body(len(self._buffer))
                return
            elif state == "chunk_size":
                line = self._line(MAX_CHUNK_LINE)
                if line is None:
                    return
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise InvalidAnswerError("bad chunk size") from None
                if size < 0:
                    raise InvalidAnswerError("bad chunk size")
                self._remaining = size
                self._state = "chunk_data" if size else "trailers"
            elif state == "chunk_data":
                size = min(self._remaining, len(self._buffer))
                self._remaining -= size
                if not self._take_body(size):
                    return
                if self._remaining:
                    return
                self._state = "chunk_end"
            elif state == "chunk_end":
                if len(self._buffer) < 2:
                    return
                if self._buffer[:2] != b"\r\n":
                    raise InvalidAnswerError("chunk not followed by CRLF")
                del self._buffer[:2]
                self._state = "chunk_size"
            elif state == "trailers":
                line = self._line(MAX_HEAD_BYTES)
                if line is None:
                    return
                if not line:
                    self._finish(reusable=self.reusable)
            else:  # pragma: no cover - every state is handled above
                raise InvalidAnswerError(f"unexpected state {state}")

    def _start_body(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise InvalidAnswerError("not an HTTP/1.x status line")
        status = int(code)
        if 100 <= status < 200:
            if status == 101:
                raise InvalidAnswerError("protocol switch not asked for")
            return  # an interim answer: the final one follows
        self._status = status
        length: int | None = None
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise InvalidAnswerError("malformed header line")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    parsed = int(value.strip())
                except ValueError:
                    raise InvalidAnswerError("bad Content-Length") from None
                if parsed < 0 or (length is not None and parsed != length):
                    raise InvalidAnswerError("bad Content-Length")
                length = parsed
            elif name == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
                if not chunked:
                    keep_alive = False  # another coding: the body runs to the close
            elif name == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
        self.reusable = keep_alive
        if status in (204, 304):
            self._finish(reusable=keep_alive)
        elif chunked:
            self._state = "chunk_size"
        elif length is not None:
            self._state, self._remaining = "length", length
            if length == 0:
                self._finish(reusable=keep_alive)
        else:
            self._state = "until_close"


class ConnectionPool:
    """Keep-alive connections to one origin (scheme, host, port), at the given addresses; at
    most ``limit`` open at once (callers beyond wait)."""

    def __init__(
        self,
        hostname: str,
        addresses: Sequence[str],
        port: int,
        ssl_context: ssl.SSLContext | None,
        *,
        limit: int,
        max_body: int,
    ) -> None:
        self._hostname = hostname
        self._addresses = tuple(addresses) or (hostname,)
        self._port = port
        self._ssl = ssl_context
        self._max_body = max_body
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Http1Connection] = []
        self._closed = False

    async def exchange(self, request: bytes) -> int:
        """The status of ``request``'s answer. A reused connection that the peer had closed
        meanwhile (nothing came back) is replaced once by a new one: the request may then
        reach the receiver twice, with the same ``webhook-id``, as at-least-once allows."""
        async with self._slots:
            connection = self._reuse()
            if connection is not None:
                try:
                    return await self._exchange_on(connection, request)
                except ConnectionLostError as exc:
                    if exc.answered:
                        raise
            return await self._exchange_on(await self._connect(), request)

    async def _exchange_on(self, connection: _Http1Connection, request: bytes) -> int:
        done = False
        try:
            status = await connection.exchange(request)
            done = True
            return status
        finally:
            if done and connection.reusable and not self._closed:
                self._idle.append(connection)
            else:
                connection.close()  # cut off (timeout, cancel) or not reusable

    def _reuse(self) -> _Http1Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the likeliest still open
            if not connection.closed and now - connection.idle_since < IDLE_S:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Http1Connection:
        loop = asyncio.get_running_loop()
        failure: OSError | None = None
        for address in self._addresses:
            try:
                _, connection = await loop.create_connection(
                    lambda: _Http1Connection(self._max_body),
                    address,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._hostname if self._ssl is not None else None,
                )
            except ssl.SSLError:
                raise
            except OSError as exc:
                failure = exc  # the next vetted address, as a browser would
                continue
            return connection
        assert failure is not None
        raise failure

    def close(self) -> None:
        self._closed = True
        for connection in self._idle:
            with contextlib.suppress(Exception):
                connection.close()
        self._idle.clear()
