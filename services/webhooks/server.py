"""The webhooks process: what it opens, in which order, and how it shuts down.

Everything opens in one :class:`~contextlib.AsyncExitStack`, one entry each, so a failed start
closes what had opened and the shutdown is the opening order reversed:

Open: Postgres pool (unreachable fails the start: every delivery lives there) → admin port →
HTTP sender → dispatcher (polls due deliveries) → retention → gRPC (endpoint management) →
event intake (connects in the background with backoff: a broker that is away at start leaves
the service running, delivering retries, and not ready until it answers) → readiness.

Close (SIGTERM): readiness reports draining → the intake stops taking messages (unacked ones are
redelivered) → gRPC finishes in-flight calls → the dispatcher lets attempts in flight finish
within the grace and writes their outcomes (what is cut off keeps its lease and is sent again
later, with the same webhook-id) → the broker connection → the sender's connections → admin →
the pool.
"""

from __future__ import annotations

import asyncio
import ssl
from contextlib import AsyncExitStack

from qrforge.v1 import webhooks_pb2_grpc
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import start_grpc_server
from services.runtime.postgres import check_pool, close_pool, open_pool
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoint_directory import EndpointDirectory
from services.webhooks.endpoint_secrets import SecretBox
from services.webhooks.endpoints import Endpoints
from services.webhooks.event_intake import EventIntake
from services.webhooks.http_delivery import HttpSender
from services.webhooks.retention import DeliveryLogRetention
from services.webhooks.retry_schedule import RetrySchedule
from services.webhooks.servicer import WebhooksServicer
from services.webhooks.settings import WebhooksSettings
from services.webhooks.storage import WebhookStore


async def serve(settings: WebhooksSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings.database_url, max_size=10)
        stack.push_async_callback(close_pool, pool)
        store = WebhookStore(pool)
        box = SecretBox(settings.encryption_key)

        intake: EventIntake | None = None

        async def postgres_ready() -> None:
            await check_pool(pool)

        async def broker_ready() -> None:
            assert intake is not None
            await intake.check()

        admin = AdminServer(
            settings.admin_port,
            checks={"postgres": postgres_ready, "rabbitmq": broker_ready},
            host=settings.admin_host,
        )
        await admin.start()
        stack.push_async_callback(admin.stop)

        sender = HttpSender(
            settings.allowlist,
            timeout_s=settings.request_timeout_s,
            max_response_bytes=settings.max_response_bytes,
            ssl_context=ssl.create_default_context(cafile=settings.ca_file)
            if settings.ca_file
            else None,
            connections_per_host=settings.per_endpoint_concurrency * 4,
        )
        stack.push_async_callback(sender.close)

        directory = EndpointDirectory(store, settings.endpoint_cache_s)
        dispatcher = Dispatcher(
            store,
            sender,
            box,
            RetrySchedule(settings.retry_schedule_s, settings.retry_every_s, settings.retry_for_s),
            per_endpoint_concurrency=settings.per_endpoint_concurrency,
            max_in_flight=settings.max_in_flight,
            lease_s=settings.lease_s,
            poll_s=settings.poll_s,
            disable_after_s=settings.disable_after_s,
            on_disabled=directory.evict,
        )
        intake = EventIntake(
            settings.amqp_url,
            store,
            directory,
            dispatcher,
            prefetch_count=settings.prefetch_count,
            lease_s=settings.lease_s,
        )
        stack.push_async_callback(intake.close)  # after the dispatcher's drain
        dispatcher.start()
        stack.push_async_callback(dispatcher.drain, settings.shutdown_grace_s)

        retention = DeliveryLogRetention(store, settings.delivery_log_days)
        retention.start()
        stack.push_async_callback(retention.stop)

        endpoints = Endpoints(
            store,
            box,
            directory,
            dispatcher,
            allowlist=settings.allowlist,
            lease_s=settings.lease_s,
        )
        servicer = WebhooksServicer(endpoints)
        await start_grpc_server(
            stack,
            settings,
            lambda server: webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server(
                servicer, server
            ),
        )

        intake.start()
        stack.push_async_callback(intake.stop_delivering)
        stack.callback(setattr, admin, "draining", True)  # readiness fails first on stop
        await stop.wait()
