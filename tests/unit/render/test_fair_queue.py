"""The fair queue in front of the render workers, driven by fake jobs (no processes, no clock):
who is admitted next, and that one account never holds more than its share."""

from __future__ import annotations

import asyncio

import pytest

from services.render.fair_queue import FairQueue


class Jobs:
    """Fake jobs: ``submit`` waits for admission and records the order jobs were admitted in."""

    def __init__(self, queue: FairQueue) -> None:
        self.queue = queue
        self.admitted: list[str] = []
        self.waiting: dict[str, asyncio.Task[None]] = {}

    async def _wait_turn(self, account: str, name: str) -> None:
        await self.queue.acquire(account)
        self.admitted.append(name)

    async def submit(self, account: str, name: str) -> None:
        self.waiting[name] = asyncio.create_task(self._wait_turn(account, name))
        await asyncio.sleep(0)  # let it reach the queue, so submission order is queue order

    async def finish(self, account: str) -> None:
        self.queue.release(account)
        await asyncio.sleep(0)  # let the admitted job's task record itself


async def test_an_account_alone_holds_only_its_share_of_workers() -> None:
    jobs = Jobs(FairQueue(capacity=4, per_account=2))
    for i in range(5):
        await jobs.submit("A", f"a{i}")
    assert jobs.admitted == ["a0", "a1"]  # two workers stay free for whoever comes next

    await jobs.submit("B", "b0")
    assert jobs.admitted == ["a0", "a1", "b0"]  # at once: B waits for none of A's backlog


async def test_a_newcomer_is_served_before_the_backlog_of_a_heavy_account() -> None:
    jobs = Jobs(FairQueue(capacity=2, per_account=2))  # no share cap: turn-taking alone
    for i in range(6):
        await jobs.submit("A", f"a{i}")
    await jobs.submit("B", "b0")
    await jobs.submit("B", "b1")
    assert jobs.admitted == ["a0", "a1"]

    for _ in range(4):
        await jobs.finish("A")
    # Accounts take turns: B's first job goes right after the job that was running.
    assert jobs.admitted == ["a0", "a1", "a2", "b0", "a3", "b1"]


async def test_accounts_are_served_in_turn_and_each_in_order() -> None:
    jobs = Jobs(FairQueue(capacity=1, per_account=1))
    await jobs.submit("A", "a0")
    for name in ("a1", "a2", "a3"):
        await jobs.submit("A", name)
    for name in ("b1", "b2"):
        await jobs.submit("B", name)
    await jobs.submit("C", "c1")

    for account in ("A", "A", "B", "C", "A", "B"):
        await jobs.finish(account)
    assert jobs.admitted == ["a0", "a1", "b1", "c1", "a2", "b2", "a3"]


async def test_a_job_given_up_while_waiting_leaves_the_queue() -> None:
    jobs = Jobs(FairQueue(capacity=1, per_account=1))
    await jobs.submit("A", "a0")
    await jobs.submit("B", "b0")
    await jobs.submit("C", "c0")
    jobs.waiting["b0"].cancel()
    await asyncio.sleep(0)

    await jobs.finish("A")
    assert jobs.admitted == ["a0", "c0"]
    await jobs.finish("C")
    # Nothing is left waiting and no slot leaked: a new job starts at once.
    await jobs.submit("B", "b1")
    assert jobs.admitted == ["a0", "c0", "b1"]


async def test_a_job_admitted_as_its_caller_gives_up_returns_its_slot() -> None:
    queue = FairQueue(capacity=1, per_account=1)
    await queue.acquire("A")
    waiter = asyncio.create_task(queue.acquire("B"))
    await asyncio.sleep(0)
    queue.release("A")  # B is admitted ...
    waiter.cancel()  # ... but its caller is gone before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(queue.acquire("C"), timeout=5)  # the slot came back


def test_the_share_must_fit_the_pool() -> None:
    with pytest.raises(ValueError, match="per_account"):
        FairQueue(capacity=2, per_account=3)
