"""A webhook receiver for tests: a real aiohttp server on 127.0.0.1 that checks every request
with the ``standardwebhooks`` package (an implementation of the spec we did not write) and
records what it accepted, keyed by ``webhook-id``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook

Answer = Callable[[str], int]
"""``webhook-id`` → the status to answer with."""


@dataclass
class Received:
    webhook_id: str
    event: dict[str, Any]


@dataclass
class WebhookReceiver:
    url: str = ""
    secret: str = ""
    answer: Answer = lambda _id: 200
    hold_s: float = 0.0  # how long each answer takes
    attempts: list[str] = field(default_factory=list)  # every webhook-id sent, in order
    accepted: dict[str, Received] = field(default_factory=dict)
    accepted_twice: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    dropped: int = 0  # requests whose sender disconnected before the answer

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [r.event for r in self.accepted.values() if r.event["type"] == event_type]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        webhook_id = request.headers.get("webhook-id", "")
        self.attempts.append(webhook_id)
        try:
            event = Webhook(self.secret).verify(
                body, {k.lower(): v for k, v in request.headers.items()}
            )
        except Exception:
            self.bad_signatures += 1
            return web.Response(status=400)
        if self.hold_s:
            await asyncio.sleep(self.hold_s)
            if request.transport is None or request.transport.is_closing():
                # The sender went away mid-request (killed): it never learns of this answer,
                # so it does not count as accepted.
                self.dropped += 1
                return web.Response(status=499)
        status = self.answer(webhook_id)
        if 200 <= status < 300:
            if webhook_id in self.accepted:
                self.accepted_twice.append(webhook_id)
            self.accepted[webhook_id] = Received(webhook_id, json.loads(body))
            assert event is not None
        return web.Response(status=status, text="ok")


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
