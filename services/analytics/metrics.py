"""The analytics service's own metrics (the gRPC ones come from :mod:`services.runtime.metrics`)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from services.runtime.metrics import LATENCY_BUCKETS, registry

queue_messages: Final = Gauge(
    "qrforge_analytics_queue_messages",
    "Consumer lag: messages ready in the scans queue, not yet delivered (polled).",
    registry=registry,
)
batch_events: Final = Histogram(
    "qrforge_analytics_batch_events",
    "Events per insert batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
    registry=registry,
)
insert_duration_seconds: Final = Histogram(
    "qrforge_analytics_insert_duration_seconds",
    "Latency of one batch insert into ClickHouse (successful attempts).",
    buckets=LATENCY_BUCKETS,
    registry=registry,
)
events_total: Final = Counter(
    "qrforge_analytics_events_total",
    "Scan events by outcome: inserted, published (enriched, on scans.enriched), dead_lettered "
    "(malformed message), retried (an insert attempt failed; the batch stays unacked and is "
    "tried again).",
    ["outcome"],
    registry=registry,
)
dead_letters_total: Final = Counter(
    "qrforge_analytics_dead_letters_total",
    "Messages rejected to the dead-letter queue, by reason.",
    ["reason"],
    registry=registry,
)
ack_failures_total: Final = Counter(
    "qrforge_analytics_ack_failures_total",
    "Batches inserted but not acknowledged (channel lost): the broker redelivers them and "
    "the table's event_id deduplication keeps counts exact.",
    registry=registry,
)

for _outcome in ("inserted", "published", "dead_lettered", "retried"):
    events_total.labels(_outcome)
publish_failures_total: Final = Counter(
    "qrforge_analytics_publish_failures_total",
    "Failed attempts to publish a stored batch's enriched scans on scans.enriched (retried; "
    "the batch stays unacked meanwhile).",
    registry=registry,
)
