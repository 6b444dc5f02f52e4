"""Process entry: JSON logs, SIGTERM/SIGINT mapped to a clean stop, then the service's main."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import uvloop

from services.runtime.logs import configure_logging

log = logging.getLogger(__name__)

ServiceMain = Callable[[asyncio.Event], Awaitable[None]]


def run_service(name: str, main: ServiceMain, log_level: str = "INFO") -> None:
    """Run ``main(stop)`` until it returns; ``stop`` is set on SIGTERM or SIGINT.

    ``main`` owns the shutdown order: on ``stop`` it drains in-flight work, flushes buffers and
    closes its connections in reverse order of opening, then returns.
    """
    configure_logging(name, log_level)

    async def _entry() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("starting")
        try:
            await main(stop)
        finally:
            log.info("stopped")

    # libuv's loop roughly halves the event-loop overhead of aiohttp, grpc.aio and asyncpg.
    uvloop.run(_entry())
