"""Start the render service: ``python -m services.render``."""

from __future__ import annotations

import asyncio

from qrforge.v1 import render_pb2_grpc
from services.render.servicer import RenderServicer, warm_up_worker
from services.render.settings import RenderSettings
from services.render.worker_pool import WorkerPool
from services.runtime.admin import AdminServer
from services.runtime.grpc_server import GrpcServer
from services.runtime.lifecycle import run_service


async def serve(settings: RenderSettings, stop: asyncio.Event) -> None:
    pool = WorkerPool(
        settings.workers,
        initializer=warm_up_worker,
        per_account=settings.workers_per_account,
    )
    grpc_server = GrpcServer(
        settings.port,
        host=settings.grpc_host,
        auth_token=settings.grpc_auth_token,
        tls=settings.grpc_tls,
    )
    render_pb2_grpc.add_RenderServiceServicer_to_server(RenderServicer(pool), grpc_server.server)
    admin = AdminServer(settings.admin_port, checks={}, host=settings.admin_host)
    await grpc_server.start()
    await admin.start()
    try:
        await stop.wait()
    finally:
        admin.draining = True
        await grpc_server.stop(settings.shutdown_grace_s)
        pool.shutdown()
        await admin.stop()


def main() -> None:
    settings = RenderSettings.from_env()
    run_service("render", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
