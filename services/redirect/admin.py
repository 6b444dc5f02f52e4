"""Readiness for the redirect: "this process can serve".

Postgres and the broker being down must not take a replica out of rotation (cached codes keep
redirecting and scans are spooled), so their state is reported in the ``/readyz`` body instead
of failing it. The shared :class:`AdminServer` only knows failing checks, so this subclass
answers ``/readyz`` itself; healthz, metrics and the draining flag are the shared ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.runtime.admin import READINESS_TIMEOUT_S, AdminServer, ReadinessCheck


class RedirectAdmin(AdminServer):
    def __init__(
        self,
        port: int,
        dependencies: dict[str, ReadinessCheck],
        details: Callable[[], dict[str, Any]],
    ) -> None:
        super().__init__(port, checks={})
        self._dependencies = dependencies
        self._details = details

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.draining:
            return web.json_response({"status": "draining"}, status=503)
        states: dict[str, str] = {}
        for name, check in self._dependencies.items():
            try:
                await asyncio.wait_for(check(), READINESS_TIMEOUT_S)
            except Exception:  # any failure: reported, never "not ready"
                states[name] = "down"
            else:
                states[name] = "up"
        return web.json_response({"status": "ready", "dependencies": states, **self._details()})
