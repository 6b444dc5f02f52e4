"""Gateway-specific metrics (the shared HTTP/gRPC ones live in services.runtime.metrics)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge

catalog_events_total: Final = Counter(
    "qrforge_gateway_catalog_events_total",
    "Catalog events (code.updated / code.deleted) published to the redirect replicas, by outcome.",
    ["event", "outcome"],
)

scan_streams_open: Final = Gauge(
    "qrforge_gateway_scan_streams_open",
    "Live scan streams (GET /v1/stream/scans) open on this gateway process.",
)
scan_streams_refused_total: Final = Counter(
    "qrforge_gateway_scan_streams_refused_total",
    "Live scan streams refused because the account had STREAM_MAX_PER_ACCOUNT open already.",
)
scan_streams_closed_total: Final = Counter(
    "qrforge_gateway_scan_streams_closed_total",
    "Live scan streams ended, by reason (client_gone, slow_client, shutdown, key_revoked).",
    ["reason"],
)
scan_stream_events_total: Final = Counter(
    "qrforge_gateway_scan_stream_events_total",
    "Scan events for open streams: written to a client (sent), or lost when a client fell "
    "STREAM_QUEUE_EVENTS behind and was disconnected (dropped).",
    ["outcome"],
)
enriched_scan_messages_total: Final = Counter(
    "qrforge_gateway_enriched_scan_messages_total",
    "Messages taken from the scans.enriched exchange for the live streams, by outcome "
    "(fanned_out, malformed).",
    ["outcome"],
)

import_lines_total: Final = Counter(
    "qrforge_gateway_import_lines_total",
    "Import lines given their outcome by the import worker: a code created, or failed.",
    ["outcome"],
)
