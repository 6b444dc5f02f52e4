"""One stream's life: write what the hub queued for it, a heartbeat comment when idle, until
the client goes, the gateway stops, the client falls too far behind or its key is revoked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from services.gateway.account.auth import Authenticator
from services.gateway.metrics import scan_stream_events_total
from services.gateway.stream import sse
from services.gateway.stream.hub import CLIENT_GONE, KEY_REVOKED, ScanSubscription
from services.runtime.errors import ApiError

# How often a stream with nothing to send looks whether its client is still there: aiohttp does
# not cancel a handler whose client left, and a GET has no body to see the disconnect on, so an
# idle stream would otherwise hold its slot of the account's cap until its next heartbeat.
LIVENESS_CHECK_S: Final = 1.0

Write = Callable[[bytes], Awaitable[None]]
_SENT: Final = scan_stream_events_total.labels("sent")


def key_check(authenticator: Authenticator, secret: str | None) -> Callable[[], Awaitable[bool]]:
    """Whether the stream's key may still read: not revoked, not expired, the read permission and
    API access kept. Cached keys cost nothing; otherwise keys is asked (as any request would).
    Only a definite "no" ends the stream: keys being unreachable does not."""

    async def still_allowed() -> bool:
        try:
            principal = authenticator.known(secret) or await authenticator.authenticate(secret)
        except ApiError as err:
            return err.code != "INVALID_API_KEY"
        return principal.api_access and "read" in principal.permissions

    return still_allowed


async def run_stream(
    subscription: ScanSubscription,
    write: Write,
    *,
    heartbeat_s: float,
    connected: Callable[[], bool],
    still_allowed: Callable[[], Awaitable[bool]],
) -> str:
    """Serve ``subscription`` through ``write`` until it ends; returns why it ended."""
    loop = asyncio.get_running_loop()
    try:
        await write(sse.OPENING)
        next_heartbeat = loop.time() + heartbeat_s
        while True:
            wait_s = min(LIVENESS_CHECK_S, max(0.0, next_heartbeat - loop.time()))
            chunk, events = await subscription.next_batch(wait_s)
            if events:
                await write(chunk)
                _SENT.inc(events)
            if subscription.ended is not None:
                return subscription.ended
            if not connected():
                return CLIENT_GONE
            if loop.time() >= next_heartbeat:
                if not await still_allowed():
                    return KEY_REVOKED
                await write(sse.HEARTBEAT)
                next_heartbeat = loop.time() + heartbeat_s
    except OSError:  # the client went away (or was cut off as too slow) mid-write
        return subscription.ended or CLIENT_GONE
