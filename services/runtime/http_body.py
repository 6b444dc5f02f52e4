"""A request body's outcomes besides its bytes, named so a service can answer each one.

aiohttp reads a body for as long as the client keeps sending, and reports a client that hung
up mid-upload as a ``ConnectionResetError`` that looks like any broken connection. The public
server (:mod:`services.runtime.http_server`) fails a late body with :class:`BodyTimeoutError`;
:func:`read_request_body` turns aiohttp's own errors into :class:`MalformedBodyError` and
:class:`ClientDisconnectedError`, so a client that went away is counted as its doing
(:data:`CLIENT_CLOSED_REQUEST`, nginx's 499), never as a 500 with a traceback.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

CLIENT_CLOSED_REQUEST: Final = 499
"""The status recorded (never sent: nobody is listening) for a client that went away."""


class IncompleteBodyError(Exception):
    """The body did not arrive whole. The message is safe to show to the client."""


class BodyTimeoutError(IncompleteBodyError, TimeoutError):
    """The body was not complete within the server's body deadline.

    A ``TimeoutError`` so that aiohttp treats it as one where it reads a body itself (the
    lingering read of a body the handler left unread)."""


class MalformedBodyError(IncompleteBodyError):
    """The body's transfer encoding or compression is broken."""


class ClientDisconnectedError(ConnectionError):
    """The client closed the connection before its body arrived."""


async def read_request_body(request: web.BaseRequest) -> bytes:
    """The whole body (aiohttp caches it: later ``read()``/``post()`` calls return it at once).

    Raises :class:`BodyTimeoutError`, :class:`MalformedBodyError`,
    :class:`ClientDisconnectedError`, or aiohttp's ``HTTPRequestEntityTooLarge`` over the
    request's ``client_max_size``.
    """
    try:
        return await request.read()
    except RequestPayloadError:
        abandon_body(request)
        raise MalformedBodyError(
            "The request body is malformed (transfer encoding or compression)"
        ) from None
    except ConnectionResetError:
        # Only the connection to this client can reset under request.read().
        raise ClientDisconnectedError("the client closed the connection mid-body") from None


def abandon_body(request: web.BaseRequest) -> None:
    """Give up on a body whose transfer encoding or compression broke.

    Without this, aiohttp reads on after the response to drain the body ("lingering"), meets
    the same error again and logs it as an unhandled exception with a traceback, one per such
    request: a log flood anyone can cause. The stream is marked ended, and the connection is
    closed after the response, since its framing can no longer be trusted for a next request.
    """
    request.content.feed_eof()
    request.protocol.close()
