"""Wiring and lifecycle of the redirect service.

Opened in this order: spool, Postgres pool, broker link, scan publisher, public HTTP site.
On stop (SIGTERM): readiness fails, the HTTP site stops accepting and drains in-flight
requests, the publisher flushes its buffer within ``flush_timeout_s`` and spools the rest, then
the broker link (catalog consumer and connection), the pool and the spool close.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from aiohttp import web

from services.redirect import metrics
from services.redirect.broker import BrokerLink
from services.redirect.code_cache import CodeCache
from services.redirect.handlers import RedirectHandlers
from services.redirect.password_limiter import (
    InProcessPasswordLimiter,
    PasswordLimiter,
    RedisPasswordLimiter,
)
from services.redirect.publisher import ScanPublisher
from services.redirect.resolver import CodeResolver
from services.redirect.routes import create_server
from services.redirect.settings import RedirectSettings
from services.redirect.spool import Spool
from services.redirect.storage import CodeStore
from services.runtime.admin import AdminServer

log = logging.getLogger(__name__)


def on_catalog_event(cache: CodeCache, event: dict[str, Any]) -> None:
    metrics.catalog_evictions_total.inc()
    short_code = event.get("short_code")
    if isinstance(short_code, str):
        cache.evict(short_code)
    elif isinstance(event.get("qr_id"), str):
        cache.evict_qr_id(event["qr_id"])


async def serve(settings: RedirectSettings, stop: asyncio.Event) -> None:
    spool = Spool(settings.spool_dir)
    if spool.size:
        log.info("spooled scan events waiting for the broker", extra={"events": spool.size})
    store = CodeStore(
        settings.database_url, max_size=settings.db_pool_max, timeout_s=settings.db_timeout_s
    )
    await store.open()
    cache = CodeCache(settings.cache_size, settings.cache_ttl_s, settings.negative_ttl_s)
    broker = BrokerLink(
        settings.amqp_url,
        on_catalog_event=lambda event: on_catalog_event(cache, event),
        on_connected=cache.expire_all,
    )
    broker.start()
    publisher = ScanPublisher(
        broker,
        spool,
        capacity=settings.buffer_capacity,
        batch_max=settings.publish_batch_max,
        linger_s=settings.publish_linger_s,
        publish_timeout_s=settings.publish_timeout_s,
    )
    publisher.start()
    limiter: PasswordLimiter = (
        RedisPasswordLimiter(settings.redis_url)
        if settings.redis_url
        else InProcessPasswordLimiter()
    )
    handlers = RedirectHandlers(
        CodeResolver(cache, store),
        store,
        publisher,
        limiter,
        settings.trusted_proxies,
    )
    runner = web.ServerRunner(
        create_server(handlers, settings.http_limits), shutdown_timeout=settings.shutdown_grace_s
    )
    await runner.setup()

    async def broker_check() -> None:
        if broker.session is None:
            raise ConnectionError("broker not connected")

    # Postgres and the broker are reported, not required: cached codes keep redirecting and
    # scans are spooled while they are down, so a replica must stay in rotation. So is Redis:
    # without it only password tries are refused.
    reports = {"postgres": store.check, "rabbitmq": broker_check}
    if isinstance(limiter, RedisPasswordLimiter):
        reports["redis"] = limiter.check
    admin = AdminServer(
        settings.admin_port,
        checks={},
        host=settings.admin_host,
        reports=reports,
        details=lambda: {"buffer_events": publisher.buffered, "spool_events": publisher.spooled},
    )
    await admin.start()
    await web.TCPSite(runner, "0.0.0.0", settings.port).start()  # noqa: S104
    # Start-up objects never die: keep them out of the collector's way (shorter GC pauses).
    gc.collect()
    gc.freeze()
    log.info("redirect listening", extra={"port": settings.port})
    try:
        await stop.wait()
    finally:
        admin.draining = True
        await runner.cleanup()  # stop accepting, drain in-flight requests
        await publisher.close(settings.flush_timeout_s)
        await limiter.close()
        await broker.close()
        await store.close()
        spool.close()
        await admin.stop()
