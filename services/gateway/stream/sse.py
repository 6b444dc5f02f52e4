"""Server-Sent Events framing (the WHATWG HTML "server-sent events" event stream format).

Frames are built once per scan and shared, as bytes, by every stream that carries it.
"""

from __future__ import annotations

from typing import Final

import msgspec

from services.runtime.enriched_scans import EnrichedScan, scan_created_data

CONTENT_TYPE: Final = "text/event-stream"
# A comment: ignored by EventSource, but bytes on the wire, so proxies and load balancers see
# the connection in use and do not close it as idle.
HEARTBEAT: Final = b": heartbeat\n\n"
# Sent first, so the response headers and a first byte leave at once (aiohttp holds the
# headers until the body's first write) and the client knows the stream is open.
OPENING: Final = b": connected\n\n"
_FORBIDDEN_IN_FIELD: Final = frozenset("\r\n\0")
_ENCODER: Final = msgspec.json.Encoder()


def scan_event(scan: EnrichedScan) -> bytes:
    """``event: scan``, ``id: <event_id>`` and one ``data:`` line of JSON.

    The JSON is one line (msgspec escapes control characters in strings), so it needs no
    splitting. An id with a line break or NUL would end the field early or make EventSource
    ignore it: such an id is left out rather than sent damaged.
    """
    lines = [b"event: scan\n"]
    if not _FORBIDDEN_IN_FIELD.intersection(scan.event_id):
        lines.append(b"id: " + scan.event_id.encode() + b"\n")
    lines.append(b"data: " + _ENCODER.encode(scan_created_data(scan)) + b"\n\n")
    return b"".join(lines)
