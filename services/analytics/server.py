"""The analytics process: what it opens, in which order, and how it shuts down.

Everything opens in one :class:`~contextlib.AsyncExitStack`, one entry each, so a failed start
closes what had opened and the shutdown is the opening order reversed:

Open: ClickHouse (migrations, retention; unreachable fails the start: nothing can be stored)
→ city database → admin port → gRPC → ingest pipeline (inserts, then publishes the enriched
scans on ``scans.enriched``, then acks) → broker transport (connects in the
background with backoff: a broker that is away at start leaves the service running and not
ready until it answers) → readiness.

Close (SIGTERM): readiness reports draining → the transport stops delivering → the pipeline
flushes its batch and acks it (it needs the channel and ClickHouse) → the transport closes the
connection → gRPC finishes in-flight queries → admin → city database → ClickHouse clients.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import AsyncExitStack
from typing import Final

from aiormq.abc import DeliveredMessage

from qrforge.v1 import analytics_pb2_grpc
from services.analytics.amqp_transport import (
    AmqpSettlement,
    ScanQueueTransport,
    delivery_body,
)
from services.analytics.enriched_publisher import EnrichedScanPublisher
from services.analytics.enrichment import Enricher
from services.analytics.ingest_pipeline import IngestPipeline
from services.analytics.servicer import AnalyticsServicer
from services.analytics.settings import AnalyticsSettings
from services.analytics.stats import ScanStats
from services.analytics.storage import ScanStore
from services.runtime.admin import AdminServer
from services.runtime.geo import CityLookup, MaxMindCityLookup
from services.runtime.grpc_server import start_grpc_server

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD: Final = 20_000


def scan_store(settings: AnalyticsSettings) -> ScanStore:
    return ScanStore(settings.clickhouse_url, query_workers=settings.query_workers)


async def serve(
    settings: AnalyticsSettings, stop: asyncio.Event, *, store: ScanStore | None = None
) -> None:
    """Run until ``stop`` is set. ``store`` replaces the ClickHouse store built from the
    settings (tests pass one that injects faults)."""
    grace = settings.shutdown_grace_s
    async with AsyncExitStack() as stack:
        store = store or scan_store(settings)
        stack.push_async_callback(store.close)
        await store.open(settings.scan_retention_days)

        cities: CityLookup | None = None
        if settings.geoip_city_db:
            maxmind = MaxMindCityLookup(settings.geoip_city_db)
            stack.callback(maxmind.close)
            cities = maxmind

        # Stored scans, enriched, for webhooks and the live stream (published before the ack).
        publisher = EnrichedScanPublisher()
        pipeline: IngestPipeline[DeliveredMessage] = IngestPipeline(
            Enricher(settings.visitor_salt, cities),
            store.insert,
            AmqpSettlement(),
            delivery_body,
            batch_max_events=settings.batch_max_events,
            batch_max_wait_s=settings.batch_max_wait_s,
            retry_max_s=settings.insert_retry_max_s,
            publish=publisher.publish,
        )
        transport = ScanQueueTransport(
            settings.amqp_url,
            pipeline,
            prefetch_count=settings.prefetch_count,
            lag_poll_s=settings.lag_poll_s,
            publisher=publisher,
        )

        admin = AdminServer(
            settings.admin_port,
            checks={"amqp": transport.check, "clickhouse": store.ping},
            host=settings.admin_host,
        )
        await admin.start()
        stack.push_async_callback(admin.stop)

        servicer = AnalyticsServicer(ScanStats(store.query, raw=store.raw_query))
        await start_grpc_server(
            stack,
            settings,
            lambda server: analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
                servicer, server
            ),
        )

        # Closed after the pipeline's final flush: its acks go over this connection.
        stack.push_async_callback(transport.close)
        pipeline.start()
        stack.push_async_callback(pipeline.drain, grace)
        transport.start()
        stack.push_async_callback(transport.stop_delivering)

        def report_draining() -> None:
            admin.draining = True

        stack.callback(report_draining)

        # Start-up objects (ua-parser's tables, gRPC, the engine's handles) never die: keep them
        # out of the collector's passes. A batch's rows all live until its insert, so with the
        # default young-generation threshold (700) the collector would run, and promote them,
        # dozens of times per batch; at 20,000 it runs a few times.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD)
        await stop.wait()
