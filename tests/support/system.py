"""Every service as its own process (render, keys, analytics, redirect, gateway) on a throw-away
database and vhost, outside pytest: for the console's screenshots and benchmark, which show
statistics and so need analytics and the redirect service too (``gateway_stack`` has neither)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from services.runtime.migrations import apply_migrations
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.processes import free_port
from tests.support.stack import Stack


@contextmanager
def whole_system(prefix: str = "qrforge_console") -> Iterator[Stack]:
    """Yields the stack with ``gateway_url`` and ``redirect_url`` set; stops and drops it all."""
    name = scratch_name(prefix)
    database_url = asyncio.run(create_database(name))
    try:
        asyncio.run(apply_migrations(database_url))
        with scratch_vhost(name) as amqp_url, tempfile.TemporaryDirectory() as scratch:
            stack = Stack(
                database_url,
                amqp_url,
                {
                    "DATABASE_URL": database_url,
                    "AMQP_URL": amqp_url,
                    "LOG_LEVEL": "WARNING",
                    "PUBLIC_IMAGE_REQUESTS_PER_MIN": "1000000",
                    "CLICKHOUSE_URL": f"chdb://{scratch}/clickhouse",
                },
            )
            try:
                services = [
                    stack.start_grpc_service(
                        svc, f"services.{svc}", f"{key}_PORT", f"{key}_ADMIN_PORT", f"{key}_ADDR"
                    )
                    for svc, key in (
                        ("render", "RENDER"),
                        ("keys", "KEYS"),
                        ("analytics", "ANALYTICS"),
                    )
                ]
                for service in services:
                    service.wait_ready(60)
                redirect_port, redirect_admin = free_port(), free_port()
                stack.redirect_url = f"http://127.0.0.1:{redirect_port}"
                stack.addresses["REDIRECT_BASE_URL"] = stack.redirect_url
                stack.start(
                    "redirect",
                    "services.redirect",
                    {
                        "REDIRECT_PORT": str(redirect_port),
                        "REDIRECT_ADMIN_PORT": str(redirect_admin),
                        "SPOOL_DIR": f"{scratch}/spool",
                        "TRUSTED_PROXIES": "127.0.0.1/32",
                    },
                    redirect_admin,
                ).wait_ready()
                gateway, stack.gateway_url = stack.start_gateway()
                gateway.wait_ready()
                yield stack
            finally:
                stack.stop_all()
    finally:
        asyncio.run(drop_database(name))
