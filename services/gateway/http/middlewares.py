"""The gateway's middleware chain, outermost first: request id, error envelope + metrics, then
authentication, permission and rate limiting.

Order matters: errors raised by auth must still get the envelope and the request id, and the
rate-limit headers go on every authenticated response, errors included (set in
``on_response_prepare`` so no path can forget them).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from aiohttp import web

from services.gateway.account.auth import presented_key
from services.gateway.account.auth_failures import (
    InFlightAuthentications,
    TooManyInFlightError,
    failure_window,
)
from services.gateway.account.principal import Principal
from services.gateway.account.rate_limit import (
    RateDecision,
    Window,
    request_windows,
)
from services.gateway.context import PRINCIPAL, RATE_DECISION, context_of, rate_decision_of
from services.gateway.http.envelope import error_response
from services.runtime.client_ip import client_source
from services.runtime.errors import ApiError
from services.runtime.http_body import CLIENT_CLOSED_REQUEST, ClientDisconnectedError
from services.runtime.logs import request_id_var
from services.runtime.metrics import http_request_duration_seconds, http_requests_total

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER: Final = "X-Request-Id"
REQUEST_ID: Final = web.RequestKey("request_id", str)
_CLIENT_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_PUBLIC_HANDLERS: set[Handler] = set()
_AUTH_RETRY_AFTER: Final = "qrforge.auth_retry_after"

_HTTP_ERROR_CODES: Final[dict[int, tuple[str, str]]] = {
    404: ("NOT_FOUND", "No such route"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed on this route"),
    413: ("PAYLOAD_TOO_LARGE", "The body is larger than 2 MiB"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
}


def public(handler: Handler) -> Handler:
    """Mark a handler as reachable without an API key."""
    _PUBLIC_HANDLERS.add(handler)
    return handler


def _route_label(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = sent if _CLIENT_REQUEST_ID.match(sent) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        return await handler(request)
    finally:
        request_id_var.reset(token)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiError as err:
        response = error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_ERROR_CODES.get(exc.status, ("INTERNAL_ERROR", "Internal error"))
        response = error_response(ApiError(code, message))
        if "Allow" in exc.headers:  # RFC 9110: a 405 names the methods that are allowed
            response.headers["Allow"] = exc.headers["Allow"]
    except ClientDisconnectedError:
        # The client hung up mid-upload: nobody is left to answer and it is not our failure.
        response = web.Response(status=CLIENT_CLOSED_REQUEST)
    except Exception:
        log.exception("unhandled error", extra={"route": _route_label(request)})
        response = error_response(ApiError("INTERNAL_ERROR", "Internal error"))
    route = _route_label(request)
    http_requests_total.labels(route, request.method, str(response.status)).inc()
    http_request_duration_seconds.labels(route, request.method).observe(
        time.perf_counter() - started
    )
    return response


async def _weigh(request: web.Request, windows: Sequence[Window], *, count: bool) -> RateDecision:
    limiter = context_of(request).limiter
    return await (limiter.hit(windows) if count else limiter.peek(windows))


_in_flight_authentications = InFlightAuthentications()


async def _authenticate(request: web.Request) -> Principal:
    """The caller, unless their address has failed to authenticate too often lately: then a 429
    before the keys service is even asked, so guessing keys is bounded per address.

    A key this gateway knows (authenticated lately) passes straight through: failures of
    others behind the same address (a NAT, a proxy) do not lock it out. Others take a turn
    among the address's few authentications in flight, checked before and counted after keys
    answers, so a burst of guesses overshoots the limit by those few at most.
    """
    ctx = context_of(request)
    secret = presented_key(request)
    known = ctx.authenticator.known(secret)
    if known is not None:  # the common case: one hash, no window, no call to keys
        return known
    source = client_source(
        request.remote, request.headers.get("X-Forwarded-For"), ctx.settings.trusted_proxies
    )
    failures = failure_window(source, ctx.settings.auth_failures_per_min)
    try:
        async with _in_flight_authentications.turn(source):
            blocked = await _weigh(request, [failures], count=False)
            if not blocked.allowed:
                request[_AUTH_RETRY_AFTER] = blocked.retry_after
                raise ApiError(
                    "RATE_LIMIT_EXCEEDED",
                    "Too many failed authentications from this address",
                    details={"retry_after": blocked.retry_after},
                )
            try:
                return await ctx.authenticator.authenticate(secret)
            except ApiError as err:
                if err.code == "INVALID_API_KEY":
                    await _weigh(request, [failures], count=True)
                raise
    except TooManyInFlightError:
        request[_AUTH_RETRY_AFTER] = 1
        raise ApiError(
            "RATE_LIMIT_EXCEEDED",
            "Too many authentications at once from this address",
            details={"retry_after": 1},
        ) from None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # The route's own handler, not ``handler``: that is the next middleware when any follow.
    route_handler = request.match_info.handler
    if request.match_info.http_exception is not None or route_handler in _PUBLIC_HANDLERS:
        return await handler(request)
    principal = await _authenticate(request)
    if not principal.api_access:
        raise ApiError("API_NOT_AVAILABLE", "Your plan does not include API access")
    needed = "read" if request.method in _READ_METHODS else "write"
    if needed not in principal.permissions:
        raise ApiError("INSUFFICIENT_PERMISSION", f"This API key lacks the '{needed}' permission")
    windows = request_windows(
        principal.account_id,
        principal.rate_limit_per_min,
        principal.key_id,
        principal.key_rate_limit_per_min,
    )
    decision = await _weigh(request, windows, count=True)
    request[RATE_DECISION] = decision
    if not decision.allowed:
        raise ApiError(
            "RATE_LIMIT_EXCEEDED",
            f"Rate limit of {decision.limit} requests per minute exceeded",
            details={"retry_after": decision.retry_after},
        )
    request[PRINCIPAL] = principal
    return await handler(request)


async def add_standard_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the request id on every response, rate-limit headers on every
    authenticated one; ``Retry-After`` alone on a 429 for failed authentications."""
    # The context variable is already reset when the response is prepared: use the request.
    request_id = request.get(REQUEST_ID)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    decision = rate_decision_of(request)
    if decision is not None:
        response.headers.update(decision.headers())
    auth_retry_after = request.get(_AUTH_RETRY_AFTER)
    if auth_retry_after is not None:
        response.headers["Retry-After"] = str(auth_retry_after)
