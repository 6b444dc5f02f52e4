"""Wiring and lifecycle of the redirect service.

Everything opens in one :class:`~contextlib.AsyncExitStack`, one entry each, so a failed start
closes what had opened and one failing close does not skip the rest. Opened in this order:
spool, Postgres pool, broker link (connects in the background with backoff: a broker away at
start leaves the service serving cached codes and spooling scans, and ``/readyz`` reports the
gap), scan publisher, password limiter, public HTTP server, admin port, then the public site.

On stop (SIGTERM), the reverse: readiness fails, the HTTP server stops accepting and drains
in-flight requests, the limiter closes, the publisher flushes its buffer within
``flush_timeout_s`` and spools the rest, then the broker link (catalog consumer and
connection), the pool, the admin port and the spool close. The admin port's entry is taken
before the resources it reports on, so it stays up (saying "draining") until they are closed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web

from services.redirect import metrics
from services.redirect.broker import BrokerLink
from services.redirect.code_cache import CodeCache
from services.redirect.codes import cache_key
from services.redirect.handlers import RedirectHandlers
from services.redirect.password_limiter import (
    InProcessPasswordLimiter,
    PasswordLimiter,
    RedisPasswordLimiter,
)
from services.redirect.publisher import ScanPublisher
from services.redirect.resolver import CodeResolver
from services.redirect.routes import create_server
from services.redirect.routing import VariantHasher
from services.redirect.settings import RedirectSettings
from services.redirect.spool import Spool
from services.redirect.storage import CodeStore
from services.runtime.admin import AdminServer

log = logging.getLogger(__name__)


def on_catalog_event(cache: CodeCache, event: dict[str, Any]) -> None:
    metrics.catalog_evictions_total.inc()
    short_code = event.get("short_code")
    domain = event.get("domain")
    if isinstance(short_code, str):
        cache.evict(cache_key(domain if isinstance(domain, str) else "", short_code))
    elif isinstance(event.get("qr_id"), str):
        cache.evict_qr_id(event["qr_id"])


def password_limiter(settings: RedirectSettings) -> PasswordLimiter:
    """Shared by every replica through Redis when it is configured, else this process's own."""
    if settings.redis_url:
        return RedisPasswordLimiter(settings.redis_url)
    return InProcessPasswordLimiter()


async def serve(settings: RedirectSettings, stop: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        spool = Spool(settings.spool_dir)  # takes the spool directory's lock
        stack.callback(spool.close)
        if spool.size:
            log.info("spooled scan events waiting for the broker", extra={"events": spool.size})
        store = CodeStore(
            settings.database_url, max_size=settings.db_pool_max, timeout_s=settings.db_timeout_s
        )
        cache = CodeCache(settings.cache_size, settings.cache_ttl_s, settings.negative_ttl_s)
        broker = BrokerLink(
            settings.amqp_url,
            on_catalog_event=lambda event: on_catalog_event(cache, event),
            on_connected=cache.expire_all,
        )
        publisher = ScanPublisher(
            broker,
            spool,
            capacity=settings.buffer_capacity,
            batch_max=settings.publish_batch_max,
            linger_s=settings.publish_linger_s,
            publish_timeout_s=settings.publish_timeout_s,
        )
        limiter = password_limiter(settings)
        admin = _admin_server(settings, store, broker, publisher, limiter)
        stack.push_async_callback(admin.stop)  # first in, last out: readiness to the end

        stack.push_async_callback(store.close)
        await store.open()
        stack.push_async_callback(broker.close)
        broker.start()
        stack.push_async_callback(publisher.close, settings.flush_timeout_s)
        publisher.start()
        stack.push_async_callback(limiter.close)

        handlers = RedirectHandlers(
            CodeResolver(cache, store),
            store,
            publisher,
            limiter,
            settings.trusted_proxies,
            short_domains=settings.short_domains,
            variant_hasher=VariantHasher(settings.variant_hash_key),
        )
        runner = web.ServerRunner(
            create_server(handlers, settings.http_limits),
            shutdown_timeout=settings.shutdown_grace_s,
        )
        stack.push_async_callback(runner.cleanup)  # stop accepting, drain in-flight requests
        await runner.setup()
        stack.callback(setattr, admin, "draining", True)  # readiness fails first on stop
        await admin.start()
        await web.TCPSite(runner, "0.0.0.0", settings.port).start()  # noqa: S104
        # Start-up objects never die: keep them out of the collector's way (shorter GC pauses).
        gc.collect()
        gc.freeze()
        log.info("redirect listening", extra={"port": settings.port})
        await stop.wait()


def _admin_server(
    settings: RedirectSettings,
    store: CodeStore,
    broker: BrokerLink,
    publisher: ScanPublisher,
    limiter: PasswordLimiter,
) -> AdminServer:
    async def broker_check() -> None:
        if broker.session is None:
            raise ConnectionError("broker not connected")

    # Postgres and the broker are reported, not required: cached codes keep redirecting and
    # scans are spooled while they are down, so a replica must stay in rotation. So is Redis:
    # without it only password tries are refused.
    reports = {"postgres": store.check, "rabbitmq": broker_check}
    if isinstance(limiter, RedisPasswordLimiter):
        reports["redis"] = limiter.check
    return AdminServer(
        settings.admin_port,
        checks={},
        host=settings.admin_host,
        reports=reports,
        details=lambda: {"buffer_events": publisher.buffered, "spool_events": publisher.spooled},
    )
