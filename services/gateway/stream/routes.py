"""``GET /v1/stream/scans``: the account's scans (or one code's) as Server-Sent Events."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.gateway.account.auth import presented_key
from services.gateway.context import context_of, principal_of
from services.gateway.http.envelope import error_response
from services.gateway.http.path_params import is_well_formed_id
from services.gateway.qrcodes import storage
from services.gateway.stream import sse
from services.gateway.stream.hub import CLIENT_GONE, StreamLimitError
from services.gateway.stream.session import key_check, run_stream
from services.runtime.errors import ApiError

# A slot frees as soon as one of the account's streams ends; a few seconds is a fair wait.
CAP_RETRY_AFTER_S: Final = 5
STREAM_HEADERS: Final = {
    "Content-Type": sse.CONTENT_TYPE,
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx (the ingress) would otherwise buffer the stream
}


async def _stream_filter(request: web.Request) -> str | None:
    qr_id = request.query.get("qr_id")
    if qr_id is None:
        return None
    if not is_well_formed_id(qr_id, "qr"):
        raise ApiError("QR_NOT_FOUND", "No QR code with this id in your account")
    ctx, principal = context_of(request), principal_of(request)
    await storage.get_owned_qr(ctx.pool, principal.account_id, qr_id)
    return qr_id


def _cap_reached(err: StreamLimitError) -> web.Response:
    response = error_response(
        ApiError(
            "RATE_LIMIT_EXCEEDED",
            f"At most {err.max_streams} scan streams may be open at once per account",
            details={"max_streams": err.max_streams, "retry_after": CAP_RETRY_AFTER_S},
        )
    )
    response.headers["Retry-After"] = str(CAP_RETRY_AFTER_S)
    return response


async def scan_stream(request: web.Request) -> web.StreamResponse:
    ctx, principal = context_of(request), principal_of(request)
    qr_id = await _stream_filter(request)
    transport = request.transport

    def abort() -> None:
        if transport is not None:
            transport.abort()

    try:
        subscription = ctx.scan_streams.subscribe(principal.account_id, qr_id, abort)
    except StreamLimitError as err:
        return _cap_reached(err)
    reason = CLIENT_GONE
    response = web.StreamResponse(headers=STREAM_HEADERS)
    try:
        await response.prepare(request)
        reason = await run_stream(
            subscription,
            response.write,
            heartbeat_s=ctx.settings.stream_heartbeat_s,
            connected=lambda: request.transport is not None,
            still_allowed=key_check(ctx.authenticator, presented_key(request)),
        )
    except OSError:  # gone before the headers left
        pass
    finally:
        ctx.scan_streams.unsubscribe(subscription, reason)
    return response
