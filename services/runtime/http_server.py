"""The public HTTP listener of the gateway and the redirect: aiohttp's server with its edges
closed.

aiohttp's :class:`~aiohttp.web_protocol.RequestHandler` leaves four things open that a public
port must not:

- **Slow headers.** A connection is only closed for idleness, so a client trickling one header
  byte every few seconds holds it (and its memory) for as long as it likes. Here the headers of
  a request must be complete within ``header_timeout_s``: counted from the connection's opening
  for its first request, and from the first byte of each later one (between requests an idle
  keep-alive connection stays governed by aiohttp's ``keepalive_timeout``).
- **Slow bodies.** Likewise a body is read for as long as bytes keep coming. Here a body must be
  complete within ``body_timeout_s`` of its request reaching the application; after that its
  reader gets :class:`~services.runtime.http_body.BodyTimeoutError`. Enforced on the
  connection, so it holds whoever reads the body and however.
- **Echoed input.** A request the parser refuses (a control byte in a header, a header line over
  8 KiB) is answered with the parser's message, which quotes the offending line: an
  ``Authorization`` header, key included, would come back in the body. Here the service's own
  generic response is sent instead (:data:`RefusalResponse`).
- **Tracebacks.** The same refusal is logged with a traceback quoting the line and the client's
  address. Here it is one line naming the error class; a client that went away mid-request is
  not logged as a server error at all.

:class:`GuardedServer` replaces :class:`aiohttp.web.Server` (the redirect's low-level server),
:class:`GuardedAppRunner` replaces :class:`aiohttp.web.AppRunner` (the gateway's application).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from services.runtime.config import env_float
from services.runtime.http_body import BodyTimeoutError

log = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT_S: Final = 10.0
DEFAULT_BODY_TIMEOUT_S: Final = 30.0
REQUEST_TIMEOUT: Final = 408
HTTP_INTERNAL_ERROR: Final = 500

RefusalResponse = Callable[[int], web.Response]
"""The response to a request the application never saw or could not answer, from the status:
400 (malformed HTTP), 408 (the body was late), 500 (the handler failed), 504 (it timed out).
It must not depend on the request: nothing from it is trustworthy."""


def plain_refusal(status: int) -> web.Response:
    """A :data:`RefusalResponse` for ports without an error shape of their own: the status line's
    phrase as text."""
    return web.Response(status=status, text=HTTPStatus(status).phrase)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """How long a client may take to send its request."""

    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpLimits:
        return cls(
            header_timeout_s=env_float("HTTP_HEADER_TIMEOUT_S", DEFAULT_HEADER_TIMEOUT_S, env),
            body_timeout_s=env_float("HTTP_BODY_TIMEOUT_S", DEFAULT_BODY_TIMEOUT_S, env),
        )


class GuardedRequestHandler(RequestHandler):
    """aiohttp's per-connection protocol with a header deadline and generic error answers.

    Reads two of aiohttp's private attributes, ``_waiter`` and ``_request_count`` (aiohttp
    3.14): there is no public signal for "a request's headers are complete"."""

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: HttpLimits,
        refusal: RefusalResponse,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._refusal = refusal
        self._header_deadline: asyncio.TimerHandle | None = None

    def _awaiting_request(self) -> bool:
        # aiohttp's own idleness test (its keep-alive check): ``start()`` waits on ``_waiter``
        # exactly while no complete request is queued and none is being handled.
        return self._waiter is not None and not self._waiter.done()

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self._loop.call_later(
                self._limits.header_timeout_s, self._on_header_deadline
            )

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _on_header_deadline(self) -> None:
        self._header_deadline = None
        if self.transport is not None and (self._request_count == 0 or self._awaiting_request()):
            log.debug("closed a connection whose request headers did not arrive in time")
            self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # A connection that never sends a byte is held just the same: the first request's
        # headers are due from the moment it opens.
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_count and not self._awaiting_request():
            self._cancel_header_deadline()  # parsed: its body has a deadline of its own
        elif data:
            self._arm_header_deadline()  # the first bytes of a request: its headers are due

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer with the service's generic response: ``message`` is the parser's text quoting
        the request, and neither it nor the client's address is logged."""
        late_body = request.content.exception()
        if isinstance(late_body, BodyTimeoutError):
            # Reached through aiohttp's TimeoutError handling (a 504) when a handler let it out.
            status, exc = REQUEST_TIMEOUT, late_body
        if self.transport is None:
            log.debug("client went away before its response", extra={"status": status})
        elif status >= HTTP_INTERNAL_ERROR:
            log.error("request failed outside the application", exc_info=exc)
        else:
            log.info(
                "refused a request before the application answered",
                extra={"status": status, "error": type(exc).__name__ if exc else None},
            )
        if request.writer.output_size > 0:
            # As aiohttp does: part of a response went out, so a second one cannot.
            raise ConnectionError("a response was already being sent")
        response = self._refusal(status)
        response.force_close()
        return response


def _late_body(payload: StreamReader, timeout_s: float) -> None:
    if not payload.is_eof() and payload.exception() is None:
        payload.set_exception(
            BodyTimeoutError(f"The request body did not arrive within {timeout_s:g} s")
        )


class GuardedServer(web.Server):
    """:class:`aiohttp.web.Server` whose connections are :class:`GuardedRequestHandler` and
    whose requests carry a body deadline."""

    def __init__(
        self,
        handler: Any,
        *,
        limits: HttpLimits,
        refusal: RefusalResponse,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._limits = limits
        self._refusal = refusal
        make_request = self.request_factory

        def request_with_body_deadline(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:
            if not payload.is_eof():
                deadline = self._loop.call_later(
                    limits.body_timeout_s, _late_body, payload, limits.body_timeout_s
                )
                payload.on_eof(deadline.cancel)
            return make_request(message, payload, protocol, writer, task)

        self.request_factory = request_with_body_deadline

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(
            self, loop=self._loop, limits=self._limits, refusal=self._refusal, **self._kwargs
        )


class GuardedAppRunner(web.AppRunner):
    """:class:`aiohttp.web.AppRunner` serving its application through a :class:`GuardedServer`."""

    def __init__(
        self,
        app: web.Application,
        *,
        limits: HttpLimits,
        refusal: RefusalResponse,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits
        self._refusal = refusal

    async def _make_server(self) -> web.Server:
        # The application's start-up and freezing stay aiohttp's: only the server is swapped.
        plain = await super()._make_server()
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            limits=self._limits,
            refusal=self._refusal,
            **plain._kwargs,
        )
