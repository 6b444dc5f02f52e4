"""The keys process: what it opens, in which order, and how it shuts down.

Everything opens in one :class:`~contextlib.AsyncExitStack`, one entry each, so a failed start
(a taken port, Postgres unreachable) closes what had opened and one failing close does not skip
the rest; the shutdown is the opening order reversed:

Open: Postgres pool (unreachable fails the start: every call needs it) → admin port →
revocation publisher (connects in the background with backoff: a broker that is away at start
does not stop keys, see below) → last-used recorder → gRPC → readiness.

Close (SIGTERM): readiness reports draining → gRPC refuses new calls and lets in-flight ones
finish within the grace (a RevokeKey among them still publishes) → the recorder writes what is
pending (it needs the pool) → the publisher's connection → the admin port (up, saying
"draining", until everything it reports on is closed) → the pool.

The broker is deliberately not a readiness dependency, only reported in ``/readyz``'s body:
revocations still succeed without it (the gateways' cache TTL bounds staleness, and the failed
publish is counted), while failing readiness would take every replica out of service and stop
all authentication.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from qrforge.v1 import keys_pb2_grpc
from services.keys.operations import KeyOperations
from services.keys.revocation_publisher import RevocationPublisher
from services.keys.servicer import KeysServicer
from services.keys.settings import KeysSettings
from services.keys.storage import KeysStore
from services.keys.usage import LastUsedRecorder
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import start_grpc_server
from services.runtime.postgres import check_pool, close_pool, open_pool


async def serve(settings: KeysSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        pool = await open_pool(settings.database_url)
        stack.push_async_callback(close_pool, pool)
        store = KeysStore(pool)

        async def postgres_ready() -> None:
            await check_pool(pool)

        publisher = RevocationPublisher(settings.amqp_url, settings.publish_timeout_s)
        admin = AdminServer(
            settings.admin_port,
            checks={"postgres": postgres_ready},
            host=settings.admin_host,
            reports={"rabbitmq": publisher.check},
        )
        await admin.start()
        stack.push_async_callback(admin.stop)

        stack.push_async_callback(publisher.close)
        publisher.start()

        recorder = LastUsedRecorder(store.write_last_used, settings.last_used_flush_s)
        stack.push_async_callback(recorder.stop)
        recorder.start()

        operations = KeyOperations(
            store, pepper=settings.key_pepper, usage=recorder, revocations=publisher
        )
        servicer = KeysServicer(operations)
        await start_grpc_server(
            stack,
            settings,
            lambda server: keys_pb2_grpc.add_KeysServiceServicer_to_server(servicer, server),
        )

        stack.callback(setattr, admin, "draining", True)  # readiness fails first on stop
        await stop.wait()
