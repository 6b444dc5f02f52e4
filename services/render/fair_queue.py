"""Who renders next: the render workers shared fairly between accounts.

Every gateway replica sends its renders to the same pool of workers, so fairness is decided
here, in front of the pool, and not per gateway. Each account has its own FIFO queue and the
accounts with waiting jobs are served in turn (round robin): when a worker frees up, the next
job comes from the account after the one served last, so a newcomer waits for at most one job
of each other waiting account, never for a whole backlog.

Renders cannot be pre-empted, so turn-taking alone does not help an account that arrives while
another one's long renders hold every worker. So one account may hold at most
``per_account`` workers at once (half of them by default), even when nobody else is waiting:
the rest stay free for the other accounts' next calls. The price is that one account alone gets
that share of the pool, not all of it.

A job's slot is given back only when its render has really finished (see ``WorkerPool``):
a call whose client gave up still occupies its worker until the render ends.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict, deque
from typing import Final

from prometheus_client import Gauge, Histogram

jobs_waiting: Final = Gauge(
    "qrforge_render_jobs_waiting", "Renders waiting for a worker (all accounts)"
)
queue_wait_seconds: Final = Histogram(
    "qrforge_render_queue_wait_seconds",
    "Time a render waited for a worker",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class FairQueue:
    """Admits at most ``capacity`` jobs at once and at most ``per_account`` of one account;
    waiting jobs are admitted account by account in turn, first come first served within one
    account. ``acquire`` waits for the job's turn; every admitted job must be ``release``-d."""

    def __init__(self, capacity: int, per_account: int) -> None:
        if capacity < 1 or not 1 <= per_account <= capacity:
            raise ValueError("need 1 <= per_account <= capacity")
        self._capacity = capacity
        self._per_account = per_account
        self._running: Counter[str] = Counter()
        self._admitted = 0
        # Accounts with waiting jobs, in serving order: an account served goes to the back.
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    def _may_start(self, account: str) -> bool:
        return self._admitted < self._capacity and self._running[account] < self._per_account

    def _admit(self, account: str) -> None:
        self._admitted += 1
        self._running[account] += 1

    async def acquire(self, account: str) -> None:
        """Wait until ``account`` may run one more job, then count it as running."""
        # Admission happens on every release, so a free slot means nobody admissible waits:
        # a newcomer that may start overtakes no one.
        if account not in self._waiting and self._may_start(account):
            self._admit(account)
            queue_wait_seconds.observe(0.0)
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account, deque()).append(turn)
        jobs_waiting.inc()
        queued_at = time.perf_counter()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release(account)  # admitted just as the caller gave up
            else:
                self._forget(account, turn)
            raise
        queue_wait_seconds.observe(time.perf_counter() - queued_at)

    def release(self, account: str) -> None:
        """One job of ``account`` finished: give its worker to whoever's turn it is."""
        self._admitted -= 1
        self._running[account] -= 1
        if self._running[account] <= 0:
            del self._running[account]
        self._admit_waiting()

    def _admit_waiting(self) -> None:
        while self._admitted < self._capacity:
            account = next((a for a in self._waiting if self._may_start(a)), None)
            if account is None:
                return
            queue = self._waiting.pop(account)
            turn = queue.popleft()
            if queue:
                self._waiting[account] = queue  # back of the line
            jobs_waiting.dec()
            self._admit(account)
            turn.set_result(None)

    def _forget(self, account: str, turn: asyncio.Future[None]) -> None:
        queue = self._waiting.get(account)
        if queue is None or turn not in queue:
            return
        queue.remove(turn)
        jobs_waiting.dec()
        if not queue:
            del self._waiting[account]
