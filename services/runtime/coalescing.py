"""Many concurrent calls sent as few batches: natural batching, as a database's group commit.

A call is sent at once while fewer than ``max_in_flight`` batches are out; otherwise it waits
for the next batch to leave, which takes every call that queued meanwhile (up to
``max_batch``). At low load each call goes alone, with no added wait; under load, batches grow
by themselves to the size that keeps up, and the fixed cost of a call (a gRPC round trip, a
statement) is paid once per batch instead of once per item.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

batch_size = Histogram(
    "qrforge_coalesced_batch_size",
    "Items per coalesced batch",
    ["batch"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)

SendBatch = Callable[[Sequence[ItemT]], Awaitable[Sequence[ResultT | BaseException]]]


class Coalescer(Generic[ItemT, ResultT]):
    """``await submit(item)`` gives ``item``'s result from ``send(batch)``, which returns one
    result or exception per item, in order. An exception ``send`` raises goes to every item of
    its batch. A caller that gives up does not take its item out of a batch already sent."""

    def __init__(
        self,
        name: str,
        send: SendBatch[ItemT, ResultT],
        *,
        max_batch: int,
        max_in_flight: int,
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._waiting: deque[tuple[ItemT, asyncio.Future[ResultT]]] = deque()
        self._sizes = batch_size.labels(name)
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: ItemT) -> ResultT:
        result: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, result))
        if self._in_flight < self._max_in_flight:
            self._launch()
        return await result

    def _launch(self) -> None:
        count = min(len(self._waiting), self._max_batch)
        batch = [self._waiting.popleft() for _ in range(count)]
        self._in_flight += 1
        self._sizes.observe(count)
        task = asyncio.get_running_loop().create_task(self._deliver(batch))
        self._tasks.add(task)  # a task nobody references may be collected mid-flight
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, batch: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        try:
            try:
                outcomes = await self._send([item for item, _ in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
            except BaseException as exc:
                for _, result in batch:
                    if not result.done():
                        result.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return
            for (_, result), outcome in zip(batch, outcomes, strict=True):
                if result.done():
                    continue  # its caller gave up
                if isinstance(outcome, BaseException):
                    result.set_exception(outcome)
                else:
                    result.set_result(outcome)
        finally:
            self._in_flight -= 1
            if self._waiting:
                self._launch()
