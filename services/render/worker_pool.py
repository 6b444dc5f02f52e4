"""The render workers: a process pool that replaces itself when a worker dies.

A worker killed by the OOM killer or a native crash breaks a ``ProcessPoolExecutor`` for good:
every later call fails at once. So the first call to see it broken starts a new pool and is
retried once there (a render is a pure function of its spec); a spec that kills its worker
again fails with INTERNAL_ERROR and leaves a fresh pool for the calls after it.

Jobs reach the workers through a :class:`~services.render.fair_queue.FairQueue`: never more
than one per worker (so the executor's own FIFO queue stays empty and cannot undo the fair
order), at most ``per_account`` for one account, accounts served in turn.

Workers are started with "spawn", not fork: forking a process that already runs gRPC threads
can leave native locks (gRPC, FreeType, zint) held in the child, which then dies or hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from prometheus_client import Counter

from services.render.fair_queue import FairQueue
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

SpecT = TypeVar("SpecT")
ResultT = TypeVar("ResultT")

pool_restarts_total = Counter(
    "qrforge_render_pool_restarts_total", "Worker pools replaced after a worker died"
)


def _started() -> None:
    """Nothing: a call that makes the executor start one more worker."""


class WorkerPool:
    def __init__(
        self,
        workers: int,
        initializer: Callable[[], None] | None = None,
        *,
        per_account: int | None = None,
    ) -> None:
        """``per_account``: workers one account may hold at once; half of them by default."""
        self._workers = workers
        self._initializer = initializer
        self._queue = FairQueue(workers, per_account or (workers + 1) // 2)
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
        )
        # With "spawn" the executor starts a worker only when a call finds none idle, and a
        # spawn (interpreter, imports, warm-up) takes a second or more: the first calls that
        # overlap would wait for it behind other accounts' renders. One call per worker, each
        # finding none idle, starts them all now.
        for _ in range(self._workers):
            pool.submit(_started)
        return pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if broken is not self._pool:
            return  # a concurrent call already replaced it
        log.error("a render worker died; starting a new worker pool")
        pool_restarts_total.inc()
        self._pool = self._start()
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(
        self, render: Callable[[SpecT], ResultT], spec: SpecT, account: str = ""
    ) -> ResultT:
        """``render(spec)`` in a worker, when it is ``account``'s turn (see the module doc)."""
        for attempt in (1, 2):
            await self._queue.acquire(account)
            pool = self._pool
            try:
                return await asyncio.wrap_future(self._submit(pool, render, spec, account))
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise ApiError("INTERNAL_ERROR", "The image could not be rendered") from None
        raise AssertionError("unreachable")

    def _submit(
        self,
        pool: ProcessPoolExecutor,
        render: Callable[[SpecT], ResultT],
        spec: SpecT,
        account: str,
    ) -> Future[ResultT]:
        """Start the admitted job; its turn is given back when the render ends, not when the
        caller stops waiting (a cancelled call's render still holds its worker)."""
        loop = asyncio.get_running_loop()

        def give_back_turn(_job: Future[ResultT]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: we are stopping
                loop.call_soon_threadsafe(self._queue.release, account)

        try:
            job = pool.submit(render, spec)
        except BaseException:
            self._queue.release(account)
            raise
        job.add_done_callback(give_back_turn)
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
