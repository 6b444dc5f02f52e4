"""Server-Sent Events framing (the WHATWG HTML "server-sent events" event stream format).

Frames are built once per scan and shared, as bytes, by every stream that carries it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import msgspec

from services.runtime.enriched_scans import EnrichedScan

CONTENT_TYPE: Final = "text/event-stream"
# A comment: ignored by EventSource, but bytes on the wire, so proxies and load balancers see
# the connection in use and do not close it as idle.
HEARTBEAT: Final = b": heartbeat\n\n"
# Sent first, so the response headers and a first byte leave at once (aiohttp holds the
# headers until the body's first write) and the client knows the stream is open.
OPENING: Final = b": connected\n\n"
_FORBIDDEN_IN_FIELD: Final = frozenset("\r\n\0")


class ScanData(msgspec.Struct, frozen=True, gc=False):
    """The ``scan.created`` data of API.md: what a customer sees of a scan (no IP, no visitor
    hash, no account id). Unknown values (no GeoIP match, no referrer) are ``null``."""

    qr_id: str
    scanned_at: datetime
    country: str | None
    city: str | None
    device: str | None
    os: str | None
    browser: str | None
    referrer_host: str | None
    bot: bool
    rule: int | None
    variant: int | None


_ENCODER: Final = msgspec.json.Encoder()


def scan_data(scan: EnrichedScan) -> ScanData:
    return ScanData(
        qr_id=scan.qr_id,
        scanned_at=scan.scanned_at.astimezone(UTC),
        country=scan.country or None,
        city=scan.city or None,
        device=scan.device or None,
        os=scan.os or None,
        browser=scan.browser or None,
        referrer_host=scan.referrer_host or None,
        bot=scan.bot,
        rule=scan.rule,
        variant=scan.variant,
    )


def scan_event(scan: EnrichedScan) -> bytes:
    """``event: scan``, ``id: <event_id>`` and one ``data:`` line of JSON.

    The JSON is one line (msgspec escapes control characters in strings), so it needs no
    splitting. An id with a line break or NUL would end the field early or make EventSource
    ignore it: such an id is left out rather than sent damaged.
    """
    lines = [b"event: scan\n"]
    if not _FORBIDDEN_IN_FIELD.intersection(scan.event_id):
        lines.append(b"id: " + scan.event_id.encode() + b"\n")
    lines.append(b"data: " + _ENCODER.encode(scan_data(scan)) + b"\n\n")
    return b"".join(lines)
