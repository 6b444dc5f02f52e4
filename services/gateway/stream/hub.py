"""The in-memory fan-out of one gateway process: enriched scans in, per-stream queues out.

Streams are indexed by account, so a scan costs one dict lookup plus one append per stream of
its own account, and nothing for the others. A scan's SSE frame is built once, when the first
stream that wants it is found, and shared as the same bytes by every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from services.gateway.metrics import (
    scan_stream_events_total,
    scan_streams_closed_total,
    scan_streams_open,
    scan_streams_refused_total,
)
from services.gateway.stream import sse
from services.runtime.enriched_scans import EnrichedScan

# Why a stream ended (the ``reason`` label of qrforge_gateway_scan_streams_closed_total).
CLIENT_GONE: Final = "client_gone"
SLOW_CLIENT: Final = "slow_client"
SHUTDOWN: Final = "shutdown"
KEY_REVOKED: Final = "key_revoked"

Abort = Callable[[], None]


class StreamLimitError(Exception):
    """The account has as many streams open on this process as it may."""

    def __init__(self, max_streams: int) -> None:
        super().__init__(f"at most {max_streams} open scan streams per account")
        self.max_streams = max_streams


class ScanSubscription:
    """One open stream: the frames offered to it and not yet written, at most ``capacity``.

    A client that lets ``capacity`` frames pile up (it reads slower than its scans arrive) is
    cut off: the queue is emptied, the frames counted as dropped and ``abort`` (closing the
    connection) called, so a handler blocked on a full socket buffer wakes up too.
    """

    __slots__ = ("_abort", "_capacity", "_frames", "_ready", "account_id", "ended", "qr_id")

    def __init__(
        self, account_id: str, qr_id: str | None, capacity: int, abort: Abort | None = None
    ) -> None:
        self.account_id = account_id
        self.qr_id = qr_id  # None: every code of the account
        self.ended: str | None = None  # why, once ended
        self._capacity = capacity
        self._abort = abort
        self._frames: deque[bytes] = deque()
        self._ready = asyncio.Event()

    def wants(self, scan: EnrichedScan) -> bool:
        return self.qr_id is None or self.qr_id == scan.qr_id

    def offer(self, frame: bytes) -> None:
        if self.ended is not None:
            return
        if len(self._frames) >= self._capacity:
            scan_stream_events_total.labels("dropped").inc(len(self._frames) + 1)
            self._frames.clear()
            self.end(SLOW_CLIENT)
            if self._abort is not None:
                self._abort()
            return
        self._frames.append(frame)
        self._ready.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self._ready.set()

    def abort(self) -> None:
        if self._abort is not None:
            self._abort()

    async def next_frames(self, timeout_s: float) -> list[bytes]:
        """The frames queued so far, waiting up to ``timeout_s`` for one when there are none;
        an empty list on timeout or once ended."""
        if not self._frames and self.ended is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._ready.wait()
        self._ready.clear()
        frames = list(self._frames)
        self._frames.clear()
        return frames


class ScanStreamHub:
    def __init__(self, max_per_account: int, queue_frames: int) -> None:
        self._max_per_account = max_per_account
        self._queue_frames = queue_frames
        self._by_account: dict[str, set[ScanSubscription]] = {}
        self._open = 0
        self._none_open = asyncio.Event()
        self._none_open.set()
        self._closing = False

    @property
    def open_streams(self) -> int:
        return self._open

    @property
    def closing(self) -> bool:
        return self._closing

    def subscribe(
        self, account_id: str, qr_id: str | None, abort: Abort | None = None
    ) -> ScanSubscription:
        """Raises :class:`StreamLimitError` when the account is at its cap."""
        streams = self._by_account.setdefault(account_id, set())
        if len(streams) >= self._max_per_account:
            scan_streams_refused_total.inc()
            raise StreamLimitError(self._max_per_account)
        subscription = ScanSubscription(account_id, qr_id, self._queue_frames, abort)
        if self._closing:
            subscription.end(SHUTDOWN)
        streams.add(subscription)
        self._open += 1
        self._none_open.clear()
        scan_streams_open.inc()
        return subscription

    def unsubscribe(self, subscription: ScanSubscription, reason: str) -> None:
        streams = self._by_account.get(subscription.account_id)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        if not streams:
            del self._by_account[subscription.account_id]
        subscription.end(reason)
        self._open -= 1
        scan_streams_open.dec()
        scan_streams_closed_total.labels(subscription.ended or reason).inc()
        if self._open == 0:
            self._none_open.set()

    def publish(self, scans: Iterable[EnrichedScan]) -> None:
        for scan in scans:
            streams = self._by_account.get(scan.account_id)
            if not streams:
                continue
            frame: bytes | None = None
            # A copy: a slow stream's abort may end it (and its handler unsubscribe) meanwhile.
            for subscription in tuple(streams):
                if subscription.wants(scan):
                    if frame is None:
                        frame = sse.scan_event(scan)
                    subscription.offer(frame)

    async def close(self, grace_s: float) -> None:
        """End every stream (the gateway is stopping) and refuse new ones; the handlers write
        what is queued and complete their responses. Connections still open after ``grace_s``
        (a handler blocked on a client that stopped reading) are aborted."""
        self._closing = True
        for streams in self._by_account.values():
            for subscription in streams:
                subscription.end(SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._none_open.wait()
                return
        for streams in list(self._by_account.values()):
            for subscription in list(streams):
                subscription.abort()
