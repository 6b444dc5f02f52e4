"""The render workers: a process pool that replaces itself when a worker dies.

A worker killed by the OOM killer or a native crash breaks a ``ProcessPoolExecutor`` for good:
every later call fails at once. So the first call to see it broken starts a new pool and is
retried once there (a render is a pure function of its spec); a spec that kills its worker
again fails with INTERNAL_ERROR and leaves a fresh pool for the calls after it.

Workers are started with "spawn", not fork: forking a process that already runs gRPC threads
can leave native locks (gRPC, FreeType, zint) held in the child, which then dies or hangs.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from prometheus_client import Counter

from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

SpecT = TypeVar("SpecT")
ResultT = TypeVar("ResultT")

pool_restarts_total = Counter(
    "qrforge_render_pool_restarts_total", "Worker pools replaced after a worker died"
)


class WorkerPool:
    def __init__(self, workers: int, initializer: Callable[[], None] | None = None) -> None:
        self._workers = workers
        self._initializer = initializer
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
        )

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if broken is not self._pool:
            return  # a concurrent call already replaced it
        log.error("a render worker died; starting a new worker pool")
        pool_restarts_total.inc()
        self._pool = self._start()
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(self, render: Callable[[SpecT], ResultT], spec: SpecT) -> ResultT:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, render, spec)
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise ApiError("INTERNAL_ERROR", "The image could not be rendered") from None
        raise AssertionError("unreachable")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
