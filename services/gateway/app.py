"""The gateway application factory.

Resources open in ``cleanup_ctx`` order and close in reverse: Postgres pool, gRPC channels,
rate limiter, AMQP connection + revocation listener.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

from aiohttp import web

from qrforge.v1 import analytics_pb2_grpc, keys_pb2_grpc, render_pb2_grpc
from services.gateway.account.auth import Authenticator
from services.gateway.account.rate_limit import (
    InMemorySlidingWindow,
    RedisSlidingWindow,
    SlidingWindow,
)
from services.gateway.account.revocations import RevocationListener
from services.gateway.context import CONTEXT, GatewayContext
from services.gateway.http.image_cache import ImageCache
from services.gateway.http.json_body import MAX_BODY_BYTES
from services.gateway.http.middlewares import (
    add_standard_headers,
    auth_middleware,
    error_middleware,
    request_id_middleware,
)
from services.gateway.idempotency.middleware import idempotency_middleware
from services.gateway.logos.fetch import LogoFetchPolicy
from services.gateway.qrcodes.events import CatalogEvents
from services.gateway.routes import add_routes
from services.gateway.settings import GatewaySettings
from services.runtime.amqp import open_connection
from services.runtime.grpc_client import open_channel
from services.runtime.postgres import open_pool


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
    add_routes(app)
    return app


def logo_policy(settings: GatewaySettings) -> LogoFetchPolicy:
    context = (
        ssl.create_default_context(cafile=settings.logo_fetch_ca_file)
        if settings.logo_fetch_ca_file
        else None
    )
    return LogoFetchPolicy(allow_private=settings.logo_fetch_allowlist, ssl_context=context)


async def _backends(app: web.Application, settings: GatewaySettings) -> AsyncIterator[None]:
    pool = await open_pool(settings.database_url, max_size=20)
    token, tls = settings.grpc_auth_token, settings.grpc_tls
    render_channel = open_channel(settings.render_addr, auth_token=token, tls=tls)
    keys_channel = open_channel(settings.keys_addr, auth_token=token, tls=tls)
    analytics_channel = open_channel(settings.analytics_addr, auth_token=token, tls=tls)
    keys_stub = keys_pb2_grpc.KeysServiceStub(keys_channel)
    limiter: SlidingWindow = (
        RedisSlidingWindow(settings.redis_url) if settings.redis_url else InMemorySlidingWindow()
    )
    authenticator = Authenticator(keys_stub, settings.auth_cache_ttl_s, settings.rpc_timeout_s)
    amqp = await open_connection(settings.amqp_url)
    listener = RevocationListener(amqp, authenticator)
    catalog_events = CatalogEvents(amqp)
    await listener.start()
    app[CONTEXT] = GatewayContext(
        settings=settings,
        pool=pool,
        render=render_pb2_grpc.RenderServiceStub(render_channel),
        keys=keys_stub,
        analytics=analytics_pb2_grpc.AnalyticsServiceStub(analytics_channel),
        authenticator=authenticator,
        limiter=limiter,
        amqp=amqp,
        logo_policy=logo_policy(settings),
        catalog_events=catalog_events,
        image_cache=ImageCache(settings.public_image_cache_bytes),
    )
    try:
        yield
    finally:
        await listener.stop()
        await catalog_events.close()
        await amqp.close()
        await limiter.close()
        for channel in (analytics_channel, keys_channel, render_channel):
            await channel.close()
        await pool.close()
