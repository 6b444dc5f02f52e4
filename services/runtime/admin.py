"""The admin port every service opens: ``/healthz`` (alive), ``/readyz`` (dependencies
reachable) and ``/metrics`` (Prometheus text format).

It is a separate listener so probes and scrapes never queue behind public traffic and the
public port never exposes internals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.runtime.http_server import GuardedAppRunner, HttpLimits, plain_refusal
from services.runtime.metrics import registry

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises (or times out) when the dependency it checks is not usable."""

log = logging.getLogger(__name__)

READINESS_TIMEOUT_S = 2.0


async def _run_checks(checks: Mapping[str, ReadinessCheck]) -> dict[str, str | None]:
    """Each check's failure (the exception's type name), or None when it passed."""
    results: dict[str, str | None] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
        except Exception as exc:  # any failure counts, whatever its kind
            results[name] = type(exc).__name__
        else:
            results[name] = None
    return results


class AdminServer:
    """``checks`` gate readiness. ``reports`` are dependencies the service can serve without
    (the redirect keeps answering cached codes while Postgres or RabbitMQ is down): their state
    goes in the ``/readyz`` body, never into the status. ``details`` adds live figures to it."""

    def __init__(
        self,
        port: int,
        checks: Mapping[str, ReadinessCheck],
        # Loopback unless the deployment says otherwise (ADMIN_HOST=0.0.0.0 in Kubernetes, where
        # probes and scrapes come from other pods).
        host: str = "127.0.0.1",
        *,
        reports: Mapping[str, ReadinessCheck] | None = None,
        details: Callable[[], dict[str, Any]] | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        self._port = port
        self._host = host
        self._checks = dict(checks)
        self._reports = dict(reports or {})
        self._details = details
        # A trickling client must not hold the port probes depend on.
        self._limits = limits or HttpLimits()
        self._runner: web.AppRunner | None = None
        self.draining = False

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        failures = {
            name: error
            for name, error in (await _run_checks(self._checks)).items()
            if error is not None
        }
        if failures:
            return web.json_response({"status": "unavailable", "failed": failures}, status=503)
        body: dict[str, Any] = {"status": "ready", "checks": sorted(self._checks)}
        if self._reports:
            states = await _run_checks(self._reports)
            body["dependencies"] = {
                name: "down" if error else "up" for name, error in states.items()
            }
        if self._details is not None:
            body.update(self._details())
        return web.json_response(body)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = GuardedAppRunner(
            app, limits=self._limits, refusal=plain_refusal, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("admin server listening", extra={"port": self._port})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
