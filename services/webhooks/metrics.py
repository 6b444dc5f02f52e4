"""The webhooks service's own metrics (the gRPC ones come from :mod:`services.runtime.metrics`)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from services.runtime.metrics import registry

attempts_total: Final = Counter(
    "qrforge_webhooks_attempts_total",
    "Delivery attempts by outcome: delivered (2xx), failed (retried later), gave_up (retry "
    "window over, or the endpoint is disabled), gone (410: endpoint disabled).",
    ["outcome"],
    registry=registry,
)
attempt_duration_seconds: Final = Histogram(
    "qrforge_webhooks_attempt_duration_seconds",
    "Time from sending a delivery to its answer (or its failure).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=registry,
)
event_to_delivered_seconds: Final = Histogram(
    "qrforge_webhooks_event_to_delivered_seconds",
    "Time from a delivery being stored to its first accepted attempt.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3600.0),
    registry=registry,
)
events_total: Final = Counter(
    "qrforge_webhooks_events_total",
    "Broker events by outcome: matched (at least one endpoint wanted it), unmatched, "
    "skipped (not for customers), dead_lettered (malformed).",
    ["outcome"],
    registry=registry,
)
endpoints_disabled_total: Final = Counter(
    "qrforge_webhooks_endpoints_disabled_total",
    "Endpoints the service disabled, by reason (gone: 410, failing: failed for 3 days).",
    ["reason"],
    registry=registry,
)
in_flight: Final = Gauge(
    "qrforge_webhooks_in_flight",
    "Deliveries held by this process (queued behind the concurrency limits or being sent).",
    registry=registry,
)
oldest_pending_seconds: Final = Gauge(
    "qrforge_webhooks_oldest_pending_seconds",
    "Age of the oldest pending delivery (polled; 0 when none).",
    registry=registry,
)
store_failures_total: Final = Counter(
    "qrforge_webhooks_store_failures_total",
    "Postgres writes that failed and were retried (intake) or left to the lease (outcomes).",
    ["step"],
    registry=registry,
)
