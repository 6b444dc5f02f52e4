"""What handlers are given: the clients and stores the app opened, injected through one AppKey."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from qrforge.v1 import analytics_pb2_grpc, keys_pb2_grpc, render_pb2_grpc, webhooks_pb2_grpc
from services.gateway.account.auth import Authenticator
from services.gateway.account.principal import Principal
from services.gateway.account.rate_limit import RateDecision, SlidingWindow
from services.gateway.backends.keys import KeysBackend
from services.gateway.backends.render import RenderBackend
from services.gateway.backends.webhooks import WebhooksBackend
from services.gateway.http.image_cache import ImageCache
from services.gateway.imports.queue import ImportQueue
from services.gateway.logos.fetch import LogoFetchPolicy
from services.gateway.qrcodes.events import CatalogEvents
from services.gateway.qrcodes.grouped_inserts import GroupedInserts
from services.gateway.qrcodes.prepared import DrawingTools
from services.gateway.settings import GatewaySettings
from services.gateway.stream.hub import ScanStreamHub
from services.runtime.amqp import BrokerConnection


@dataclass(slots=True)
class GatewayContext:
    settings: GatewaySettings
    pool: Any  # asyncpg.Pool (untyped library)
    render: render_pb2_grpc.RenderServiceAsyncStub
    keys: keys_pb2_grpc.KeysServiceAsyncStub
    analytics: analytics_pb2_grpc.AnalyticsServiceAsyncStub
    webhooks: webhooks_pb2_grpc.WebhooksServiceAsyncStub
    authenticator: Authenticator
    limiter: SlidingWindow
    amqp: BrokerConnection  # connected in the background; check() says whether it is up
    logo_policy: LogoFetchPolicy
    catalog_events: CatalogEvents
    image_cache: ImageCache
    scan_streams: ScanStreamHub  # fed by the broker (stream/feed.py), read by the SSE route
    import_queue: ImportQueue
    # Built from the fields above: what the domain modules are given instead of this context.
    render_backend: RenderBackend = field(init=False)
    keys_backend: KeysBackend = field(init=False)
    webhooks_backend: WebhooksBackend = field(init=False)
    drawing: DrawingTools = field(init=False)
    qr_inserts: GroupedInserts = field(init=False)

    def __post_init__(self) -> None:
        self.render_backend = RenderBackend(self.render, self.settings.render_timeout_s)
        self.keys_backend = KeysBackend(self.keys, self.settings.rpc_timeout_s)
        # Creating or changing an endpoint resolves its host: more than a plain RPC's deadline.
        self.webhooks_backend = WebhooksBackend(self.webhooks, self.settings.rpc_timeout_s + 5.0)
        self.drawing = DrawingTools(
            self.render_backend, self.logo_policy, self.settings.short_domains, self.pool
        )
        self.qr_inserts = GroupedInserts(self.pool)


CONTEXT: Final = web.AppKey("context", GatewayContext)
PRINCIPAL: Final = web.RequestKey("principal", Principal)
RATE_DECISION: Final = web.RequestKey("rate_decision", RateDecision)


def context_of(request: web.Request) -> GatewayContext:
    return request.app[CONTEXT]


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def rate_decision_of(request: web.Request) -> RateDecision | None:
    return request.get(RATE_DECISION)
