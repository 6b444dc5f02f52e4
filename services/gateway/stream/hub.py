"""The in-memory fan-out of one gateway process: enriched scans in, per-stream queues out.

Streams are indexed by account, so a scan costs one dict lookup plus one append per stream of
its own account, and nothing for the others. A scan's SSE frame is built once, when the first
stream that wants it is found, and a message's frames are joined once per selection (the whole
account, or one code) and shared as the same bytes by every stream that selected it.
"""

from __future__ import annotations

import asyncio
import contextlib
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
_DROPPED: Final = scan_stream_events_total.labels("dropped")


class StreamLimitError(Exception):
    """The account has as many streams open on this process as it may."""

    def __init__(self, max_streams: int) -> None:
        super().__init__(f"at most {max_streams} open scan streams per account")
        self.max_streams = max_streams


class ScanSubscription:
    """One open stream: the chunks of SSE frames offered to it and not yet written, at most
    ``capacity`` events in all.

    A client that lets ``capacity`` events pile up (it reads slower than its scans arrive) is
    cut off: the queue is emptied, the events counted as dropped and ``abort`` (closing the
    connection) called, so a handler blocked on a full socket buffer wakes up too.
    """

    __slots__ = (
        "_abort",
        "_capacity",
        "_chunks",
        "_queued_events",
        "_ready",
        "_wake",
        "account_id",
        "ended",
        "qr_id",
    )

    def __init__(
        self, account_id: str, qr_id: str | None, capacity: int, abort: Abort | None = None
    ) -> None:
        self.account_id = account_id
        self.qr_id = qr_id  # None: every code of the account
        self.ended: str | None = None  # why, once ended
        self._capacity = capacity
        self._abort = abort
        self._chunks: list[bytes] = []
        self._queued_events = 0
        self._ready = asyncio.Event()
        self._wake: asyncio.TimerHandle | None = None

    def offer(self, chunk: bytes, events: int) -> None:
        """Queue ``chunk``, the frames of ``events`` scans (shared with other streams)."""
        if self.ended is not None:
            return
        if self._queued_events + events > self._capacity:
            _DROPPED.inc(self._queued_events + events)
            self._chunks.clear()
            self._queued_events = 0
            self.end(SLOW_CLIENT)
            if self._abort is not None:
                self._abort()
            return
        self._chunks.append(chunk)
        self._queued_events += events
        self._ready.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self._ready.set()
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None

    def abort(self) -> None:
        if self._abort is not None:
            self._abort()

    def _woken(self) -> None:
        self._wake = None
        self._ready.set()

    async def next_batch(self, timeout_s: float) -> tuple[bytes, int]:
        """Everything queued so far, as one chunk, and how many events it holds; waits up to
        ``timeout_s`` for something when nothing is queued (``(b"", 0)`` on timeout or once
        ended).

        The wait may end earlier than ``timeout_s`` with nothing: a wake-up timer already set
        for an earlier moment is kept rather than replaced. A stream fed every few tens of
        milliseconds thus sets about one timer per ``timeout_s`` instead of one per batch
        (a timer per wait was an eighth of the gateway's CPU with 500 streams)."""
        if not self._chunks and self.ended is None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            if self._wake is None or self._wake.when() > deadline:
                if self._wake is not None:
                    self._wake.cancel()
                self._wake = loop.call_at(deadline, self._woken)
            await self._ready.wait()
        self._ready.clear()
        chunks, events = self._chunks, self._queued_events
        self._chunks, self._queued_events = [], 0
        if len(chunks) == 1:
            return chunks[0], events
        return b"".join(chunks), events


class _AccountBatch:
    """One message's scans of one account, framed lazily: each scan once (only if a stream
    wants it), each distinct selection (all codes, one code) joined once."""

    __slots__ = ("_frames", "_joined", "_scans")

    def __init__(self, scans: list[EnrichedScan]) -> None:
        self._scans = scans
        self._frames: list[bytes | None] = [None] * len(scans)
        self._joined: dict[str | None, tuple[bytes, int]] = {}

    def _frame(self, index: int) -> bytes:
        frame = self._frames[index]
        if frame is None:
            frame = self._frames[index] = sse.scan_event(self._scans[index])
        return frame

    def chunk_for(self, qr_id: str | None) -> tuple[bytes, int]:
        joined = self._joined.get(qr_id)
        if joined is None:
            picked = [
                self._frame(i)
                for i, scan in enumerate(self._scans)
                if qr_id is None or scan.qr_id == qr_id
            ]
            joined = self._joined[qr_id] = (b"".join(picked), len(picked))
        return joined


class ScanStreamHub:
    def __init__(self, max_per_account: int, queue_events: int) -> None:
        self._max_per_account = max_per_account
        self._queue_events = queue_events
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
        subscription = ScanSubscription(account_id, qr_id, self._queue_events, abort)
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
        """Queue ``scans`` (one message's batch) for the streams that want them: one chunk per
        stream and message, not one per scan, so a batch costs each stream one wake-up."""
        by_account: dict[str, list[EnrichedScan]] = {}
        for scan in scans:
            if scan.account_id in self._by_account:
                by_account.setdefault(scan.account_id, []).append(scan)
        for account_id, account_scans in by_account.items():
            batch = _AccountBatch(account_scans)
            # A copy: a slow stream's abort may end it (and its handler unsubscribe) meanwhile.
            for subscription in tuple(self._by_account.get(account_id, ())):
                chunk, events = batch.chunk_for(subscription.qr_id)
                if events:
                    subscription.offer(chunk, events)

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
