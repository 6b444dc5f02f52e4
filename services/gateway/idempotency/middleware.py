"""``Idempotency-Key`` on every authenticated POST: execute once, replay the first response.

Runs after authentication and before the handler. An ``Idempotency-Key`` belongs to the API key
that sent it (and so to its account): a replay is the stored response as it was -- for
``POST /v1/api-keys``, a secret -- so another key of the account never gets it, whatever its
permissions; its request is its own::

    claim the key (one INSERT ... ON CONFLICT) --won--> run the handler
         |                                               |- 2xx-4xx: store status, kept
         | lost: the key has a live record               |  headers and sealed body; answer
         v                                               '- 5xx / crash: drop the claim
    same fingerprint? --no--> 409 IDEMPOTENCY_CONFLICT
         | yes
    complete? --yes--> the stored response + ``Idempotent-Replayed: true``
         | no (the first request is still running)
    poll until it completes (bounded by WAIT_TIMEOUT_S), then replay;
    if it was dropped meanwhile (it failed with a 5xx), claim again and execute.

Errors raised by the handler are turned into their envelope here, not in the outer error
middleware, so a 4xx is stored like any answer: a retried invalid body gets the same 400.
Requests without the header, other methods, unmatched routes and public handlers pass
straight through.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiohttp import web

from services.gateway.context import PRINCIPAL, context_of, principal_of
from services.gateway.http.envelope import error_response
from services.gateway.http.json_body import MAX_BODY_BYTES, read_body
from services.gateway.http.middlewares import Handler
from services.gateway.idempotency import storage
from services.gateway.idempotency.policy import (
    HEADER,
    REPLAYED_HEADER,
    Outcome,
    decide,
    fingerprint,
    is_storable,
    kept_headers,
    key_hash,
    parse_key,
    poll_delays,
    seal,
    unseal,
)
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

PURGE_INTERVAL_S: Final = 60.0


class _PurgeSchedule:
    """Expired records are deleted lazily: at most one small purge per interval per process,
    piggy-backed on an idempotent request."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._next = 0.0

    async def maybe_purge(self, pool: object) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval_s
        try:
            await storage.purge_expired(pool)
        except Exception:
            log.warning("idempotency purge failed", exc_info=True)


_purge = _PurgeSchedule(PURGE_INTERVAL_S)


_OWNS_IDEMPOTENCY: Final = "_qrforge_owns_idempotency"
HandlerT = TypeVar("HandlerT", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def handles_own_idempotency(handler: HandlerT) -> HandlerT:
    """Marks a route that honours Idempotency-Key itself (an import, whose body is streamed
    and may be far larger than this layer reads into memory)."""
    setattr(handler, _OWNS_IDEMPOTENCY, True)
    return handler


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    raw_key = request.headers.get(HEADER)
    if (
        raw_key is None
        or request.method != "POST"
        or request.match_info.http_exception is not None
        or PRINCIPAL not in request
        or getattr(request.match_info.handler, _OWNS_IDEMPOTENCY, False)
    ):
        return await handler(request)
    key = parse_key(raw_key)
    assert key is not None
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return await handler(request)  # the handler answers 413; there is nothing to replay
    body = await read_body(request)  # cached on the request: the handler reads it again

    pool = context_of(request).pool
    principal = principal_of(request)
    account_id, api_key_id = principal.account_id, principal.key_id
    hashed = key_hash(key)
    request_fingerprint = fingerprint(request.method, request.path, body, request.query.items())
    await _purge.maybe_purge(pool)

    delays = poll_delays()
    while True:
        claim_id = uuid.uuid4()
        if await storage.claim(pool, account_id, api_key_id, hashed, request_fingerprint, claim_id):
            return await _execute(request, handler, key, account_id, api_key_id, hashed, claim_id)
        row = await storage.find(pool, account_id, api_key_id, hashed)
        if row is not None:
            outcome = decide(row.fingerprint, row.complete, request_fingerprint)
            if outcome is Outcome.CONFLICT:
                raise ApiError(
                    "IDEMPOTENCY_CONFLICT",
                    f"This {HEADER} was already used with a different request",
                    field=HEADER,
                )
            if outcome is Outcome.REPLAY:
                return _replay(row, key, account_id)
        # Still running elsewhere (or just released: claim again after a short pause).
        delay = next(delays, None)
        if delay is None:
            raise ApiError(
                "IDEMPOTENCY_CONFLICT",
                f"A request with this {HEADER} is still being processed; retry later",
                details={"field": HEADER, "reason": "in_progress"},
            )
        await asyncio.sleep(delay)


async def _execute(
    request: web.Request,
    handler: Handler,
    key: str,
    account_id: str,
    api_key_id: str,
    hashed: bytes,
    claim_id: uuid.UUID,
) -> web.StreamResponse:
    pool = context_of(request).pool
    try:
        response = await handler(request)
    except ApiError as err:
        response = error_response(err)
    except BaseException:
        await _release(pool, account_id, api_key_id, hashed, claim_id)
        raise
    body = response.body if isinstance(response, web.Response) else None
    if not is_storable(response.status) or not isinstance(body, bytes):
        await _release(pool, account_id, api_key_id, hashed, claim_id)
        return response
    try:
        stored = await storage.complete(
            pool,
            account_id,
            api_key_id,
            hashed,
            claim_id,
            status=response.status,
            headers=kept_headers(response.headers),
            sealed_body=seal(key, account_id, body),
        )
    except Exception:
        # The work is done: answer it. The claim stays pending until its lease runs out.
        log.exception("could not store an idempotent response")
        return response
    if not stored:
        log.warning("idempotency claim was taken over before the response was stored")
    return response


async def _release(
    pool: object, account_id: str, api_key_id: str, hashed: bytes, claim_id: uuid.UUID
) -> None:
    try:
        await storage.release(pool, account_id, api_key_id, hashed, claim_id)
    except Exception:
        log.warning("could not release an idempotency claim", exc_info=True)


def _replay(row: storage.IdempotencyRow, key: str, account_id: str) -> web.Response:
    assert row.status is not None and row.sealed_body is not None
    headers = dict(row.headers)
    headers[REPLAYED_HEADER] = "true"
    return web.Response(
        status=row.status, body=unseal(key, account_id, row.sealed_body), headers=headers
    )
