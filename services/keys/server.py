"""The keys process: what it opens, in which order, and how it shuts down."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from qrforge.v1 import keys_pb2_grpc
from services.keys.operations import KeyOperations
from services.keys.revocation_publisher import RevocationPublisher
from services.keys.servicer import KeysServicer
from services.keys.settings import KeysSettings
from services.keys.storage import KeysStore
from services.keys.usage import LastUsedRecorder
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import GrpcServer
from services.runtime.postgres import check_pool, open_pool

log = logging.getLogger(__name__)


class KeysApp:
    """Opens Postgres, the broker, the last-used flusher, gRPC and the admin port in that order
    and :meth:`stop` closes them in reverse, so nothing is used after it is closed."""

    def __init__(self, settings: KeysSettings) -> None:
        self.settings = settings
        self.publisher = RevocationPublisher(settings.amqp_url, settings.publish_timeout_s)
        self._pool: asyncpg.Pool | None = None
        self._recorder: LastUsedRecorder | None = None
        self._grpc: GrpcServer | None = None
        self._admin: AdminServer | None = None

    @property
    def grpc_port(self) -> int:
        """The bound port (useful when the settings asked for port 0)."""
        assert self._grpc is not None, "not started"
        return self._grpc.port

    async def _check_postgres(self) -> None:
        assert self._pool is not None
        await check_pool(self._pool)

    async def start(self) -> None:
        settings = self.settings
        self._pool = await open_pool(settings.database_url)
        store = KeysStore(self._pool)
        await self.publisher.start()
        self._recorder = LastUsedRecorder(store.write_last_used, settings.last_used_flush_s)
        self._recorder.start()
        operations = KeyOperations(
            store, pepper=settings.key_pepper, usage=self._recorder, revocations=self.publisher
        )
        self._grpc = GrpcServer(
            settings.port,
            host=settings.grpc_host,
            auth_token=settings.grpc_auth_token,
            tls=settings.grpc_tls,
        )
        keys_pb2_grpc.add_KeysServiceServicer_to_server(KeysServicer(operations), self._grpc.server)
        self._admin = AdminServer(
            settings.admin_port,
            # The broker is deliberately not a readiness dependency: revocations still succeed
            # without it (the gateways' cache TTL bounds staleness), and failing readiness would
            # take every replica out of service and stop all authentication.
            checks={"postgres": self._check_postgres},
            host=settings.admin_host,
        )
        await self._grpc.start()
        await self._admin.start()

    async def stop(self) -> None:
        # Probes see "draining" first so traffic moves away while in-flight calls finish; the
        # final last_used_at flush needs the pool, so the pool closes last.
        if self._admin is not None:
            self._admin.draining = True
        if self._grpc is not None:
            await self._grpc.stop(self.settings.shutdown_grace_s)
        if self._recorder is not None:
            await self._recorder.stop()
        await self.publisher.close()
        if self._pool is not None:
            await self._pool.close()
        if self._admin is not None:
            await self._admin.stop()


async def serve(settings: KeysSettings, stop: asyncio.Event) -> None:
    app = KeysApp(settings)
    try:
        await app.start()
        await stop.wait()
    finally:
        await app.stop()
