"""The live scan stream, ``GET /v1/stream/scans``: Server-Sent Events of an account's scans.

Analytics publishes every stored scan, enriched, on the ``scans.enriched`` exchange
(:mod:`services.runtime.enriched_scans`). Each gateway process consumes it once, on an
exclusive auto-delete queue of its own (:mod:`.feed`), and fans each scan out in memory to the
open streams of its account (:mod:`.hub`); each stream's handler writes what is queued for it
as SSE frames (:mod:`.sse`, :mod:`.session`).

What a client can rely on, and what it cannot:

- **Live only.** A stream carries the scans stored after it opened. ``Last-Event-ID`` is
  accepted and ignored: there is no replay; scans missed while disconnected are in the stats
  and the scan export.
- **At most once per stream, best effort.** A scan published while this gateway has no broker
  link is not seen by its streams (the queue goes with the connection); analytics' at-least-once
  publishing may repeat an ``id``.
- **Slow clients are disconnected, never buffered without bound.** Each stream queues at most
  ``STREAM_QUEUE_EVENTS`` scans (as references to chunks of frames shared by every stream of
  the account), and the socket's own buffer is bounded by aiohttp's write high-water mark; a
  client that falls that far behind is disconnected and the scans it missed are counted as
  dropped (``qrforge_gateway_scan_stream_events_total{outcome="dropped"}``). Disconnecting,
  rather than dropping scans and carrying on, tells the client something is missing; its
  EventSource reconnects and carries on from live.
- **Per-account cap.** ``STREAM_MAX_PER_ACCOUNT`` open streams per account on one gateway
  process; the next one is refused with 429 ``RATE_LIMIT_EXCEEDED``.
- **Shutdown.** On SIGTERM every stream ends at once (the response completes cleanly), so the
  gateway's graceful drain is not held by them; clients reconnect to another replica.
- **Revocation.** The key is checked again at each heartbeat: a stream whose key was revoked
  or lost the read permission ends then.
"""
