"""The render process: what it opens, in which order, and how it shuts down.

Everything opens in one :class:`~contextlib.AsyncExitStack`, one entry each, so a failed start
(a taken port, say) closes what had opened and one failing close does not skip the rest; the
shutdown is the opening order reversed:

Open: admin port → worker pool (its processes start now, not on the first calls) → gRPC →
readiness.

Close (SIGTERM): readiness reports draining → gRPC refuses new calls and lets in-flight renders
finish within the grace → the worker pool cancels what is still queued and waits for its
processes to exit (in a thread, so the admin port keeps answering "draining") → the admin
port, last, since it reports on everything else.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from qrforge.v1 import render_pb2_grpc
from services.render.servicer import RenderServicer, warm_up_worker
from services.render.settings import RenderSettings
from services.render.worker_pool import WorkerPool
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import start_grpc_server


async def serve(settings: RenderSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        admin = AdminServer(settings.admin_port, checks={}, host=settings.admin_host)
        await admin.start()
        stack.push_async_callback(admin.stop)

        pool = WorkerPool(
            settings.workers,
            initializer=warm_up_worker,
            per_account=settings.workers_per_account,
        )
        stack.push_async_callback(asyncio.to_thread, pool.shutdown)

        servicer = RenderServicer(pool)
        await start_grpc_server(
            stack,
            settings,
            lambda server: render_pb2_grpc.add_RenderServiceServicer_to_server(servicer, server),
        )

        stack.callback(setattr, admin, "draining", True)  # readiness fails first on stop
        await stop.wait()
