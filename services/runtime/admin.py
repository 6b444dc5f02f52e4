"""The admin port every service opens: ``/healthz`` (alive), ``/readyz`` (dependencies
reachable) and ``/metrics`` (Prometheus text format).

It is a separate listener so probes and scrapes never queue behind public traffic and the
public port never exposes internals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.runtime.metrics import registry

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises (or times out) when the dependency it checks is not usable."""

log = logging.getLogger(__name__)

READINESS_TIMEOUT_S = 2.0


class AdminServer:
    def __init__(
        self,
        port: int,
        checks: Mapping[str, ReadinessCheck],
        host: str = "0.0.0.0",  # noqa: S104 - probes and scrapes come from other pods
    ) -> None:
        self._port = port
        self._host = host
        self._checks = dict(checks)
        self._runner: web.AppRunner | None = None
        self.draining = False

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        failures: dict[str, str] = {}
        for name, check in self._checks.items():
            try:
                await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
            except Exception as exc:  # any failure means "not ready", whatever its kind
                failures[name] = type(exc).__name__
        if failures:
            return web.json_response({"status": "unavailable", "failed": failures}, status=503)
        return web.json_response({"status": "ready", "checks": sorted(self._checks)})

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("admin server listening", extra={"port": self._port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
