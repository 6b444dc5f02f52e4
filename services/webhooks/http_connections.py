"""Keep-alive HTTP/1.1 connections for webhook POSTs, one exchange at a time on each.

A delivery needs one narrow thing from HTTP: send a small POST, learn the status, read (and
throw away) at most ``max_body`` bytes of the answer, and keep the connection when the answer
allows it. aiohttp's general client spent about 4 times the CPU of the whole exchange on
machinery this does not use (cookies, redirects, decompression, tracing, multidict headers),
and that CPU bounded how many deliveries one process makes a second.

The HTTP/1.1 framing itself (writing the request, reading the answer as RFC 9112 frames it:
1xx interim answers, 204/304, chunked, Content-Length, read-to-close, keep-alive) is h11's, a
sans-IO implementation kept by others; this module owns the sockets around it. A connection is
reused only after a complete exchange that h11 says may be followed by another, with no bytes
past the answer and a body under the cap; anything unexpected (a malformed answer, bytes after
it, a cut) closes it. Where the connection goes (vetted addresses, TLS) is the caller's
choice: see :mod:`services.webhooks.http_delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Sequence
from typing import Final

import h11

# h11's bound on an answer's status line and headers (and on a chunk's size line).
MAX_HEAD_BYTES: Final = 64 * 1024
# Servers commonly close idle keep-alive connections after 5 to 60 s; one idle longer than this
# is not trusted to be open any more.
IDLE_S: Final = 4.0
_HTTP_1: Final = (b"1.1", b"1.0")


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
        self._http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._waiter: asyncio.Future[int] | None = None
        self._status = 0
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
        self._http.receive_data(data)
        try:
            self._read_events()
        except h11.RemoteProtocolError as exc:
            self._fail(InvalidAnswerError(str(exc)))
        except InvalidAnswerError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        self._closed_by_peer()
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._closed_by_peer()

    # -- use ------------------------------------------------------------------------------------

    async def exchange(self, request: h11.Request, body: bytes) -> int:
        """Send ``request`` (whose headers give ``body``'s length) and ``body``, and return the
        answer's status once the answer is read; ``reusable`` then says whether another
        exchange may follow."""
        if self._transport is None or self.closed:
            raise ConnectionLostError(answered=False)
        http = self._http
        data = http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage())
        self._waiter = asyncio.get_running_loop().create_future()
        self._answered, self.reusable = False, False
        self._status = self._body_read = 0
        self._transport.write(data)
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

    def _read_events(self) -> None:
        """Take h11's events until it needs more bytes or the answer is complete."""
        http = self._http
        while True:
            event = http.next_event()
            if isinstance(event, h11.Data):
                self._body_read += len(event.data)
                if self._body_read > self._max_body:
                    self._finish(reusable=False)  # the status counts; the rest is never read
                    return
            elif isinstance(event, h11.Response):
                if event.http_version not in _HTTP_1:
                    raise InvalidAnswerError("not an HTTP/1.x answer")
                self._status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                # Bytes already past the answer belong to no request: the connection is not
                # reused (its next answer would be misread).
                self._finish(
                    reusable=http.our_state is h11.DONE
                    and http.their_state is h11.DONE
                    and not http.trailing_data[0]
                )
                return
            elif (
                event is h11.NEED_DATA
                or event is h11.PAUSED
                or isinstance(event, h11.ConnectionClosed)
            ):
                return
            # InformationalResponse (1xx): the final answer follows.

    def _closed_by_peer(self) -> None:
        """The peer closed: an answer read to the close ends here, any other is cut short."""
        if self._waiter is None or self._waiter.done():
            return
        self._http.receive_data(b"")
        with contextlib.suppress(h11.RemoteProtocolError, InvalidAnswerError):
            self._read_events()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionLostError(self._answered))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _finish(self, *, reusable: bool) -> None:
        self.reusable = reusable and not self.closed
        if self.reusable:
            self._http.start_next_cycle()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(self._status)
        if not self.reusable:
            self.close()


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

    async def exchange(self, request: h11.Request, body: bytes) -> int:
        """The status of the answer to ``request`` with ``body``. A reused connection that the
        peer had closed meanwhile (nothing came back) is replaced once by a new one: the request
        may then reach the receiver twice, with the same ``webhook-id``, as at-least-once
        allows."""
        async with self._slots:
            connection = self._reuse()
            if connection is not None:
                try:
                    return await self._exchange_on(connection, request, body)
                except ConnectionLostError as exc:
                    if exc.answered:
                        raise
            return await self._exchange_on(await self._connect(), request, body)

    async def _exchange_on(
        self, connection: _Http1Connection, request: h11.Request, body: bytes
    ) -> int:
        done = False
        try:
            status = await connection.exchange(request, body)
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
