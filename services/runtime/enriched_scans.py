"""The enriched scan: what analytics publishes, after a scan is stored, for the services that
react to scans (webhooks' ``scan.created`` and the gateway's live stream). Defined once, as a
msgspec schema, so publisher and consumers agree on the wire format.

Enrichment (GeoIP, user-agent parsing, referrer domain) belongs to analytics; the others consume
its result instead of repeating it. The event carries no IP address and no visitor hash: it is
what a customer may see. A message on :data:`ENRICHED_SCANS_EXCHANGE` carries a small batch,
``{"v": 1, "scans": [EnrichedScan…]}``, published with the routing key
:data:`SCAN_ENRICHED` once the batch is in ClickHouse (at least once: consumers deduplicate on
``event_id``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

import msgspec

from services.runtime.scan_events import EventId, Instant

ENRICHED_SCANS_EXCHANGE: Final = "scans.enriched"
SCAN_ENRICHED: Final = "scan.enriched"
ENRICHED_SCANS_VERSION: Final = 1

Index = Annotated[int, msgspec.Meta(ge=0, le=1000)]


class EnrichedScan(msgspec.Struct, frozen=True, gc=False):
    """One counted scan as customers see it (the ``data`` of a ``scan.created`` webhook)."""

    event_id: EventId
    account_id: EventId
    qr_id: EventId
    scanned_at: Instant
    country: str = ""
    city: str = ""
    device: str = ""
    os: str = ""
    browser: str = ""
    referrer_host: str = ""
    bot: bool = False
    rule: Index | None = None  # index of the routing rule that matched, None: default
    variant: Index | None = None  # index of the A/B variant served, None: no variants


class ScanCreatedData(msgspec.Struct, frozen=True, gc=False):
    """The ``data`` of a ``scan.created`` webhook and of a live-stream ``scan`` event, one
    shape for both (API.md): no IP, no visitor hash, no account id; unknown values (no GeoIP
    match, no referrer) are ``null``; ``scanned_at`` in UTC."""

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


def scan_created_data(scan: EnrichedScan) -> ScanCreatedData:
    return ScanCreatedData(
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


class EnrichedScanBatch(msgspec.Struct, frozen=True, gc=False):
    v: int
    scans: list[EnrichedScan]


def encode_batch(scans: list[EnrichedScan]) -> bytes:
    return msgspec.json.encode(EnrichedScanBatch(v=ENRICHED_SCANS_VERSION, scans=scans))


_DECODER: Final = msgspec.json.Decoder(EnrichedScanBatch)


def decode_batch(body: bytes) -> list[EnrichedScan]:
    """Raises ``msgspec.ValidationError``/``DecodeError`` on a malformed body or an unknown
    version (callers dead-letter it)."""
    batch = _DECODER.decode(body)
    if batch.v != ENRICHED_SCANS_VERSION:
        raise msgspec.ValidationError(f"unsupported enriched-scan version {batch.v}")
    return batch.scans
