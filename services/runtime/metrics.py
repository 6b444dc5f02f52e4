"""Prometheus metrics every service exports, with their names and labels fixed in one place.

Labels stay low-cardinality: route templates, never raw paths, keys, code ids or addresses.
Service-specific metrics are declared in the service's own ``metrics.py`` on the same registry.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

registry: Final[CollectorRegistry] = REGISTRY

LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

http_requests_total: Final = Counter(
    "qrforge_http_requests_total",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status"],
)
http_request_duration_seconds: Final = Histogram(
    "qrforge_http_request_duration_seconds",
    "HTTP request latency, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
grpc_server_requests_total: Final = Counter(
    "qrforge_grpc_server_requests_total",
    "gRPC calls served, by method and status code.",
    ["method", "code"],
)
grpc_server_request_duration_seconds: Final = Histogram(
    "qrforge_grpc_server_request_duration_seconds",
    "gRPC call latency as seen by the server, by method.",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
grpc_client_requests_total: Final = Counter(
    "qrforge_grpc_client_requests_total",
    "gRPC calls made to other services, by method and status code.",
    ["method", "code"],
)
grpc_server_unauthenticated_total: Final = Counter(
    "qrforge_grpc_server_unauthenticated_total",
    "gRPC calls refused before any handler ran: no or a wrong internal token.",
)
