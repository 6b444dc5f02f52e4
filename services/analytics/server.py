"""The analytics process: what it opens, in which order, and how it shuts down.

Start: ClickHouse (migrations, retention) → ingest pipeline and its broker transport → gRPC →
admin port. A broker or ClickHouse that is unreachable at start-up fails the start (the
supervisor restarts the process): without both there is nothing useful to do.

Stop (SIGTERM): readiness reports draining → the transport stops delivering → the pipeline
flushes its batch and acks it (it needs the channel and ClickHouse) → the transport closes →
gRPC finishes in-flight queries → ClickHouse clients close → admin.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Final

from aiormq.abc import DeliveredMessage

from qrforge.v1 import analytics_pb2_grpc
from services.analytics.amqp_transport import (
    AmqpSettlement,
    ScanQueueTransport,
    delivery_body,
)
from services.analytics.clickhouse_store import ScanStore
from services.analytics.enrichment import Enricher
from services.analytics.geo import CityLookup, MaxMindCityLookup
from services.analytics.ingest_pipeline import IngestPipeline
from services.analytics.servicer import AnalyticsServicer
from services.analytics.settings import AnalyticsSettings
from services.analytics.stats import ScanStats
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD: Final = 20_000


class AnalyticsApp:
    def __init__(self, settings: AnalyticsSettings, store: ScanStore | None = None) -> None:
        """``store`` replaces the ClickHouse store built from the settings (tests pass one that
        injects faults)."""
        self.settings = settings
        self.store = store or ScanStore(
            settings.clickhouse_url, query_workers=settings.query_workers
        )
        self._cities: MaxMindCityLookup | None = None
        self._pipeline: IngestPipeline[DeliveredMessage] | None = None
        self._transport: ScanQueueTransport | None = None
        self._grpc: GrpcServer | None = None
        self._admin: AdminServer | None = None

    @property
    def grpc_port(self) -> int:
        assert self._grpc is not None, "not started"
        return self._grpc.port

    async def _check_broker(self) -> None:
        assert self._transport is not None
        await self._transport.check()

    async def start(self) -> None:
        settings = self.settings
        await self.store.open(settings.scan_retention_days)
        cities: CityLookup | None = None
        if settings.geoip_city_db:
            self._cities = cities = MaxMindCityLookup(settings.geoip_city_db)
        self._pipeline = IngestPipeline(
            Enricher(settings.visitor_salt, cities),
            self.store.insert,
            AmqpSettlement(),
            delivery_body,
            batch_max_events=settings.batch_max_events,
            batch_max_wait_s=settings.batch_max_wait_s,
            retry_max_s=settings.insert_retry_max_s,
        )
        self._transport = ScanQueueTransport(
            settings.amqp_url,
            self._pipeline,
            prefetch_count=settings.prefetch_count,
            lag_poll_s=settings.lag_poll_s,
        )
        self._pipeline.start()
        await self._transport.start()
        self._grpc = GrpcServer(
            settings.port,
            host=settings.grpc_host,
            auth_token=settings.grpc_auth_token,
            tls=settings.grpc_tls,
        )
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
            AnalyticsServicer(ScanStats(self.store.query)), self._grpc.server
        )
        self._admin = AdminServer(
            settings.admin_port,
            checks={"amqp": self._check_broker, "clickhouse": self.store.ping},
            host=settings.admin_host,
        )
        await self._grpc.start()
        await self._admin.start()
        # Start-up objects (ua-parser's tables, gRPC, the engine's handles) never die: keep them
        # out of the collector's passes. A batch's rows all live until its insert, so with the
        # default young-generation threshold (700) the collector would run, and promote them,
        # dozens of times per batch; at 20,000 it runs a few times.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD)

    async def stop(self) -> None:
        grace = self.settings.shutdown_grace_s
        if self._admin is not None:
            self._admin.draining = True
        if self._transport is not None:
            await self._transport.stop_delivering()
        if self._pipeline is not None:
            await self._pipeline.drain(grace)
        if self._transport is not None:
            await self._transport.close()
        if self._grpc is not None:
            await self._grpc.stop(grace)
        await self.store.close()
        if self._cities is not None:
            self._cities.close()
        if self._admin is not None:
            await self._admin.stop()


async def serve(
    settings: AnalyticsSettings, stop: asyncio.Event, *, store: ScanStore | None = None
) -> None:
    app = AnalyticsApp(settings, store)
    try:
        await app.start()
        await stop.wait()
    finally:
        await app.stop()
