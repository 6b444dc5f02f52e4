"""Gateway-specific metrics (the shared HTTP/gRPC ones live in services.runtime.metrics)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

catalog_events_total: Final = Counter(
    "qrforge_gateway_catalog_events_total",
    "Catalog events (code.updated / code.deleted) published to the redirect replicas, by outcome.",
    ["event", "outcome"],
)
