"""Keep-alive HTTP/1.1 connections for webhook POSTs, one exchange at a time on each.

A delivery needs one narrow thing from HTTP: send a small POST, learn the status, read (and
throw away) at most ``max_body`` bytes of the answer, and keep the connection when the answer
allows it. aiohttp's general client spent about 4 times the CPU of the whole exchange on
machinery this does not use (cookies, redirects, decompression, tracing, multidict headers),
and that CPU bounded how many deliveries one process makes a second.

The answer is read by httptools (llhttp, Node's C parser, as uvicorn uses it): status line,
headers, 1xx interim answers, 204/304, chunked, Content-Length, keep-alive. h11 did the same
in pure Python at about 135 us an exchange, most of the CPU a delivery costs; llhttp takes
about 1 us. llhttp cannot be told the stream ended (httptools does not expose
``llhttp_finish``), so an answer read to the close is completed here: a final answer whose
head gave no length ends at the peer's close. A connection is reused only after a complete
answer llhttp says may be followed by another, in HTTP/1.1, with no bytes past it and a body
under the cap; anything unexpected (a malformed answer, bytes after it, a cut) closes it.
Where the connection goes (vetted addresses, TLS) is the caller's choice: see
:mod:`services.webhooks.http_delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Sequence
from typing import Final

import httptools

# Bound on an answer's status line and headers.
MAX_HEAD_BYTES: Final = 64 * 1024
# Servers commonly close idle keep-alive connections after 5 to 60 s; one idle longer than this
# is not trusted to be open any more.
IDLE_S: Final = 4.0
_HTTP_1: Final = ("1.1", "1.0")


class InvalidAnswerError(Exception):
    """The peer's answer is not HTTP/1.x as RFC 9112 frames it."""


class ConnectionLostError(ConnectionError):
    """The connection ended before a complete answer."""

    def __init__(self, answered: bool) -> None:
        super().__init__("connection closed before a complete answer")
        self.answered = answered  # some bytes of an answer had arrived


class _Http1Connection(asyncio.Protocol):
    """One connection; :meth:`exchange` sends a request and waits for its answer's status.

    It is also the parser's callback object: llhttp calls the ``on_*`` methods as it reads."""

    def __init__(self, max_body: int) -> None:
        self._max_body = max_body
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[int] | None = None
        self._status = 0
        self._body_read = 0
        self._head_fed = 0  # bytes of reads that ended inside the current head
        self._head_size = 0  # the current head's size, as llhttp's callbacks show it
        self._in_head = True  # the current answer's head is not complete yet
        self._interim = False  # the current answer is a 1xx: the final one follows
        self._framed = False  # the head gave the body's end (Content-Length or chunked)
        self._keep_alive = False
        self._complete = False  # the final answer is read
        self._extra = False  # bytes came past the final answer
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
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self._complete:
                # A check of ours that failed in a callback reaches here as its context.
                reason = exc.__context__
                if not isinstance(reason, InvalidAnswerError):
                    reason = InvalidAnswerError(str(exc) or type(exc).__name__)
                self._fail(reason)
                return
            self._extra = True  # the answer stands; what follows it is no answer to anything
        if self._in_head:
            # A head still being read is bounded here, as its bytes come (httptools holds a
            # header until it is complete); a head completed within a read is bounded in
            # on_headers_complete.
            self._head_fed += len(data)
            if self._head_fed > MAX_HEAD_BYTES:
                self._fail(InvalidAnswerError("header section too large"))
                return
        if self._complete:
            self._finish(reusable=self._keep_alive and not self._extra)

    def eof_received(self) -> bool | None:
        self._closed_by_peer()
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._closed_by_peer()

    # -- llhttp's callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:
            self._extra = True
            return
        self._in_head, self._interim, self._framed = True, False, False
        self._head_fed = self._head_size = 0

    def on_status(self, reason: bytes) -> None:
        self._head_size += len(reason) + 15  # "HTTP/1.1 200 " and CRLF around it

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if len(name) == 14 and name.lower() == b"content-length":
            self._framed = True
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            # Only chunked as the last coding frames a response's body; otherwise it runs to
            # the close (RFC 9112, 6.3).
            self._framed = value.rstrip().lower().endswith(b"chunked")

    def on_headers_complete(self) -> None:
        parser = self._parser
        if self._head_size > MAX_HEAD_BYTES:
            raise InvalidAnswerError("header section too large")
        if parser.get_http_version() not in _HTTP_1:
            raise InvalidAnswerError("not an HTTP/1.x answer")
        status = parser.get_status_code()
        if status == 101:
            raise InvalidAnswerError("protocol switch not asked for")
        self._in_head = False
        self._interim = status < 200
        if not self._interim:
            self._status = status
            self._keep_alive = parser.should_keep_alive() and parser.get_http_version() == "1.1"

    def on_body(self, body: bytes) -> None:
        self._body_read += len(body)
        if self._body_read > self._max_body:
            self._finish(reusable=False)  # the status counts; the rest is never read

    def on_message_complete(self) -> None:
        if not self._interim:
            self._complete = True

    # -- use ------------------------------------------------------------------------------------

    async def exchange(self, request: bytes) -> int:
        """Send ``request`` (a whole HTTP/1.1 request, head and body) and return the answer's
        status once the answer is read; ``reusable`` then says whether another exchange may
        follow."""
        if self._transport is None or self.closed:
            raise ConnectionLostError(answered=False)
        self._waiter = asyncio.get_running_loop().create_future()
        self._answered, self.reusable = False, False
        self._status = self._body_read = self._head_fed = self._head_size = 0
        self._in_head, self._complete, self._extra = True, False, False
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

    # -- ending the answer ----------------------------------------------------------------------

    def _closed_by_peer(self) -> None:
        """The peer closed: a final answer whose head gave no length ends here (it is read to
        the close); any other is cut short."""
        if self._waiter is None or self._waiter.done():
            return
        if not self._in_head and not self._interim and not self._framed and self._status:
            self._finish(reusable=False)
        else:
            self._waiter.set_exception(ConnectionLostError(self._answered))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _finish(self, *, reusable: bool) -> None:
        self.reusable = reusable and not self.closed
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

    async def exchange(self, request: bytes) -> int:
        """The status of the answer to ``request`` (head and body). A reused connection that the
        peer had closed meanwhile (nothing came back) is replaced once by a new one: the request
        may then reach the receiver twice, with the same ``webhook-id``, as at-least-once
        allows."""
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
