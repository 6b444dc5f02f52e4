"""Wiring and lifecycle of the gateway.

Everything opens in one :class:`~contextlib.AsyncExitStack` per scope, one entry each, so a
failed start (Postgres unreachable, a taken port) closes what had opened and one failing close
does not skip the rest. :func:`serve` opens, in this order: the admin port's entry, the HTTP
application (whose ``cleanup_ctx`` opens the backends, below), the admin port, then the public
site. The backends, in :func:`open_backends`: Postgres pool, the gRPC channels to render, keys
analytics and webhooks, the rate limiter, then the broker connection.

The broker is not needed to start: the connection is made in the background with backoff
(:class:`~services.runtime.amqp.BrokerConnection`), and its set-up subscribes the revocation
listener, declares the catalog exchange and subscribes the live scan stream's feed
(:mod:`services.gateway.stream`). Until it is up the gateway serves requests but
``/readyz`` fails its ``rabbitmq`` check (revocations are not heard; a key revoked meanwhile
stays cached for at most ``AUTH_CACHE_TTL_S``), and catalog events fail at once, counted (see
:mod:`services.gateway.qrcodes.events`).

On stop (SIGTERM), the reverse: readiness fails first, the public site stops accepting, live
scan streams end (cut off after ``STREAM_CLOSE_GRACE_S`` if their client stopped reading) and
in-flight requests drain within ``SHUTDOWN_GRACE_S``, then the backends close (the broker stops
connecting, the listener stops consuming, the catalog channel and the connection close, then
the limiter, the gRPC channels and the pool), and the admin port closes last: its entry was
taken before the resources it reports on, so it answers "draining" until they are closed.
"""

from __future__ import annotations

import asyncio
import gc
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Final

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from qrforge.v1 import analytics_pb2_grpc, keys_pb2_grpc, render_pb2_grpc, webhooks_pb2_grpc
from services.gateway.account.auth import Authenticator
from services.gateway.account.rate_limit import (
    InMemorySlidingWindow,
    RedisSlidingWindow,
    SlidingWindow,
)
from services.gateway.account.revocations import RevocationListener
from services.gateway.context import CONTEXT, GatewayContext
from services.gateway.http.envelope import refused_request
from services.gateway.http.image_cache import ImageCache
from services.gateway.http.json_body import MAX_BODY_BYTES
from services.gateway.http.middlewares import (
    add_standard_headers,
    auth_middleware,
    error_middleware,
    request_id_middleware,
)
from services.gateway.idempotency.middleware import idempotency_middleware
from services.gateway.imports.queue import ImportQueue
from services.gateway.logos.fetch import LogoFetchPolicy
from services.gateway.qrcodes.events import CatalogEvents
from services.gateway.routes import add_routes
from services.gateway.settings import GatewaySettings
from services.gateway.stream.feed import EnrichedScanFeed
from services.gateway.stream.hub import ScanStreamHub
from services.runtime.admin import AdminServer
from services.runtime.amqp import BrokerConnection
from services.runtime.grpc_client import open_channel
from services.runtime.http_server import GuardedAppRunner
from services.runtime.postgres import check_pool, close_pool, open_pool

# How long stopping waits for live streams to end by themselves before cutting them off.
STREAM_CLOSE_GRACE_S: Final = 1.0


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application(
        middlewares=[
            request_id_middleware,
            error_middleware,
            auth_middleware,
            idempotency_middleware,  # after auth: the account scopes the key
        ],
        # A little headroom so the handler, not the transport, reports 413 in our envelope.
        client_max_size=MAX_BODY_BYTES + 1,
    )
    app.on_response_prepare.append(add_standard_headers)
    app.cleanup_ctx.append(lambda app: _backends(app, settings))
    app.on_shutdown.append(_end_scan_streams)
    add_routes(app)
    return app


def logo_policy(settings: GatewaySettings) -> LogoFetchPolicy:
    context = (
        ssl.create_default_context(cafile=settings.logo_fetch_ca_file)
        if settings.logo_fetch_ca_file
        else None
    )
    return LogoFetchPolicy(allow_private=settings.logo_fetch_allowlist, ssl_context=context)


async def _end_scan_streams(app: web.Application) -> None:
    """First thing on stop (aiohttp's ``on_shutdown``, before it waits for handlers): live
    streams never finish by themselves and would hold the drain for all of
    ``SHUTDOWN_GRACE_S``."""
    context = app.get(CONTEXT)
    if context is not None:
        await context.scan_streams.close(grace_s=STREAM_CLOSE_GRACE_S)


async def _backends(app: web.Application, settings: GatewaySettings) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        app[CONTEXT] = await open_backends(settings, stack)
        yield


async def open_backends(settings: GatewaySettings, stack: AsyncExitStack) -> GatewayContext:
    """Open what the handlers use, each closed by ``stack`` in reverse order."""
    pool = await open_pool(settings.database_url, max_size=20)
    stack.push_async_callback(close_pool, pool)

    token, tls = settings.grpc_auth_token, settings.grpc_tls
    render_channel = open_channel(settings.render_addr, auth_token=token, tls=tls)
    stack.push_async_callback(render_channel.close)
    keys_channel = open_channel(settings.keys_addr, auth_token=token, tls=tls)
    stack.push_async_callback(keys_channel.close)
    analytics_channel = open_channel(settings.analytics_addr, auth_token=token, tls=tls)
    stack.push_async_callback(analytics_channel.close)
    webhooks_channel = open_channel(settings.webhooks_addr, auth_token=token, tls=tls)
    stack.push_async_callback(webhooks_channel.close)

    limiter: SlidingWindow = (
        RedisSlidingWindow(settings.redis_url) if settings.redis_url else InMemorySlidingWindow()
    )
    stack.push_async_callback(limiter.close)

    keys_stub = keys_pb2_grpc.KeysServiceStub(keys_channel)
    authenticator = Authenticator(keys_stub, settings.auth_cache_ttl_s, settings.rpc_timeout_s)
    listener = RevocationListener(authenticator)
    catalog_events = CatalogEvents()
    scan_streams = ScanStreamHub(settings.stream_max_per_account, settings.stream_queue_events)
    scan_feed = EnrichedScanFeed(scan_streams)
    import_queue = ImportQueue()

    async def set_up(connection: AbstractRobustConnection) -> None:
        await listener.start(connection)
        await catalog_events.open(connection)
        await scan_feed.start(connection)
        await import_queue.open(connection)

    broker = BrokerConnection(settings.amqp_url, set_up, name="gateway")
    stack.push_async_callback(broker.close)
    stack.push_async_callback(catalog_events.close)
    stack.push_async_callback(scan_feed.stop)
    stack.push_async_callback(import_queue.close)
    stack.push_async_callback(listener.stop)
    stack.push_async_callback(broker.stop_connecting)  # first on close: no set-up after it
    broker.start()

    return GatewayContext(
        settings=settings,
        pool=pool,
        render=render_pb2_grpc.RenderServiceStub(render_channel),
        keys=keys_stub,
        analytics=analytics_pb2_grpc.AnalyticsServiceStub(analytics_channel),
        webhooks=webhooks_pb2_grpc.WebhooksServiceStub(webhooks_channel),
        authenticator=authenticator,
        limiter=limiter,
        amqp=broker,
        logo_policy=logo_policy(settings),
        catalog_events=catalog_events,
        image_cache=ImageCache(settings.public_image_cache_bytes),
        scan_streams=scan_streams,
        import_queue=import_queue,
    )


def _admin_server(settings: GatewaySettings, app: web.Application) -> AdminServer:
    # The checks read the context when called: the backends open after the admin entry.
    async def postgres_ready() -> None:
        await check_pool(app[CONTEXT].pool)

    async def rabbitmq_ready() -> None:
        await app[CONTEXT].amqp.check()

    return AdminServer(
        settings.admin_port,
        # The broker gates readiness: without it this replica misses revocations and cannot
        # announce catalog changes, so traffic should go to replicas that have it.
        {"postgres": postgres_ready, "rabbitmq": rabbitmq_ready},
        host=settings.admin_host,
    )


async def serve(settings: GatewaySettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        app = create_app(settings)
        admin = _admin_server(settings, app)
        stack.push_async_callback(admin.stop)  # first in, last out: readiness to the end

        runner = GuardedAppRunner(
            app,
            limits=settings.http_limits,
            refusal=refused_request,
            access_log=None,
            shutdown_timeout=settings.shutdown_grace_s,
        )
        # Stops accepting, drains in-flight requests, then closes the backends (cleanup_ctx).
        stack.push_async_callback(runner.cleanup)
        await runner.setup()  # runs cleanup_ctx: the backends are open from here on

        stack.callback(setattr, admin, "draining", True)  # readiness fails first on stop
        await admin.start()
        await web.TCPSite(runner, "0.0.0.0", settings.port).start()  # noqa: S104
        # Start-up objects never die: keep them out of the collector's way (shorter GC pauses).
        gc.collect()
        gc.freeze()
        await stop.wait()
