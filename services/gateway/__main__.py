"""Start the gateway: ``python -m services.gateway``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.app import create_app
from services.gateway.context import CONTEXT
from services.gateway.http.envelope import refused_request
from services.gateway.settings import GatewaySettings
from services.runtime.admin import AdminServer
from services.runtime.http_server import GuardedAppRunner
from services.runtime.lifecycle import run_service
from services.runtime.postgres import check_pool


async def serve(settings: GatewaySettings, stop: asyncio.Event) -> None:
    app = create_app(settings)
    runner = GuardedAppRunner(
        app,
        limits=settings.http_limits,
        refusal=refused_request,
        access_log=None,
        shutdown_timeout=settings.shutdown_grace_s,
    )
    await runner.setup()  # runs cleanup_ctx: backends are open from here on
    ctx = app[CONTEXT]

    async def database_ready() -> None:
        await check_pool(ctx.pool)

    async def broker_ready() -> None:
        if ctx.amqp.is_closed:
            raise ConnectionError("AMQP connection closed")

    admin = AdminServer(
        settings.admin_port,
        {"postgres": database_ready, "rabbitmq": broker_ready},
        host=settings.admin_host,
    )
    await admin.start()
    await web.TCPSite(runner, "0.0.0.0", settings.port).start()  # noqa: S104
    try:
        await stop.wait()
    finally:
        # Fail readiness first so load balancers stop routing, then drain in-flight requests.
        admin.draining = True
        await runner.cleanup()
        await admin.stop()


def main() -> None:
    settings = GatewaySettings.from_env()
    run_service("gateway", lambda stop: serve(settings, stop), settings.log_level)


if __name__ == "__main__":
    main()
