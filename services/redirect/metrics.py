"""The redirect service's metrics (on the shared registry), names and labels fixed here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from services.runtime.metrics import registry


class HotCounts:
    """Counters bumped on the request path, kept as plain integers (a prometheus-client
    ``inc()`` takes a lock: ~0.6 µs, a tenth of the redirect's own budget) and exported by
    :class:`_HotCollector` at scrape time."""

    __slots__ = (
        "cache_hit",
        "cache_miss",
        "cache_stale",
        "expired_redirect",
        "gone",
        "head",
        "not_found",
        "password",
        "password_invalid",
        "password_limited",
        "password_wrong",
        "redirected",
        "unavailable",
    )

    SCAN_OUTCOMES: Final = (
        "redirected",
        "head",
        "password",
        "password_wrong",
        "password_invalid",
        "password_limited",
        "gone",
        "expired_redirect",
        "not_found",
        "unavailable",
    )
    CACHE_RESULTS: Final = ("hit", "miss", "stale")

    def __init__(self) -> None:
        self.cache_hit = 0
        self.cache_miss = 0
        self.cache_stale = 0
        self.expired_redirect = 0  # gone, sent to the code's expired_url instead of the page
        self.gone = 0
        self.head = 0
        self.not_found = 0
        self.password = 0
        self.password_invalid = 0
        self.password_limited = 0
        self.password_wrong = 0
        self.redirected = 0
        self.unavailable = 0


counts: Final = HotCounts()


class _HotCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        scans = CounterMetricFamily(
            "qrforge_redirect_scans",
            "Requests for a short code, by outcome.",
            labels=["outcome"],
        )
        for outcome in HotCounts.SCAN_OUTCOMES:
            scans.add_metric([outcome], getattr(counts, outcome))
        yield scans
        cache = CounterMetricFamily(
            "qrforge_redirect_cache_lookups",
            "Code cache lookups: hit, miss, or stale (served past its TTL because Postgres failed).",
            labels=["result"],
        )
        for result in HotCounts.CACHE_RESULTS:
            cache.add_metric([result], getattr(counts, f"cache_{result}"))
        yield cache


registry.register(_HotCollector())

catalog_evictions_total: Final = Counter(
    "qrforge_redirect_catalog_evictions_total",
    "Catalog events (code.updated / code.deleted) received.",
)
# Not a hot count: each one is a scrypt run of tens of ms, the lock is nothing beside it.
password_checks_total: Final = Counter(
    "qrforge_redirect_password_checks_total",
    "Passwords verified on a protected code's form, by result (right, wrong).",
    ["result"],
)
password_checks_right: Final = password_checks_total.labels("right")
password_checks_wrong: Final = password_checks_total.labels("wrong")
database_errors_total: Final = Counter(
    "qrforge_redirect_database_errors_total",
    "Postgres calls that failed (the redirect then serves stale entries where it can).",
)

buffer_events: Final = Gauge(
    "qrforge_redirect_buffer_events",
    "Scan events in the in-memory buffer, not yet published or spooled.",
)
spool_events: Final = Gauge(
    "qrforge_redirect_spool_events",
    "Scan events on the disk spool, waiting for the broker.",
)
events_published_total: Final = Counter(
    "qrforge_redirect_events_published_total",
    "Scan events confirmed by the broker.",
)
events_spooled_total: Final = Counter(
    "qrforge_redirect_events_spooled_total",
    "Scan events written to the disk spool.",
)
events_lost_total: Final = Counter(
    "qrforge_redirect_events_lost_total",
    "Scan events that could be neither published nor spooled (the disk failed).",
)
publish_failures_total: Final = Counter(
    "qrforge_redirect_publish_failures_total",
    "Batches of scan events whose publish was not confirmed.",
)
broker_connected: Final = Gauge(
    "qrforge_redirect_broker_connected",
    "1 while the broker connection is open.",
)
