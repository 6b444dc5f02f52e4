"""Coalescer: concurrent calls travel in few batches, and each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.runtime.coalescing import Coalescer


async def settle() -> None:
    """Let every task that is ready run (submit, then the batch it launches)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Recorder:
    """A batch endpoint that answers ``item * 10`` (or the exception it was told to raise)
    after the test lets it, recording the batches it saw."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_batch: BaseException | None = None

    async def send(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail_batch is not None:
            raise self.fail_batch
        return [ValueError(f"bad {item}") if item < 0 else item * 10 for item in items]


async def test_a_lone_call_goes_at_once_and_calls_arriving_meanwhile_share_the_next_batch() -> None:
    endpoint = Recorder()
    coalescer: Coalescer[int, int] = Coalescer("test", endpoint.send, max_batch=8, max_in_flight=1)
    first = asyncio.create_task(coalescer.submit(1))
    await settle()
    rest = [asyncio.create_task(coalescer.submit(item)) for item in range(2, 12)]
    await settle()
    assert endpoint.batches == [[1]]  # the others wait for the batch in flight
    endpoint.release.set()
    assert await first == 10
    assert [await task for task in rest] == [item * 10 for item in range(2, 12)]
    # 10 waiting calls, at most 8 per batch, in arrival order.
    assert endpoint.batches == [[1], [2, 3, 4, 5, 6, 7, 8, 9], [10, 11]]


async def test_an_item_that_fails_fails_alone() -> None:
    endpoint = Recorder()
    endpoint.release.set()
    coalescer: Coalescer[int, int] = Coalescer("test", endpoint.send, max_batch=8, max_in_flight=1)
    results = await asyncio.gather(
        *(coalescer.submit(item) for item in (1, -2, 3)), return_exceptions=True
    )
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad -2"


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_still_goes() -> None:
    endpoint = Recorder()
    endpoint.fail_batch = ConnectionError("backend down")
    coalescer: Coalescer[int, int] = Coalescer("test", endpoint.send, max_batch=8, max_in_flight=1)
    endpoint.release.set()
    results = await asyncio.gather(*(coalescer.submit(i) for i in (1, 2)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    endpoint.fail_batch = None
    assert await coalescer.submit(4) == 40


async def test_a_caller_that_gives_up_does_not_disturb_the_others_in_its_batch() -> None:
    endpoint = Recorder()
    coalescer: Coalescer[int, int] = Coalescer("test", endpoint.send, max_batch=8, max_in_flight=1)
    blocker = asyncio.create_task(coalescer.submit(1))
    await settle()
    leaving = asyncio.create_task(coalescer.submit(2))
    staying = asyncio.create_task(coalescer.submit(3))
    await settle()
    leaving.cancel()
    endpoint.release.set()
    assert await blocker == 10
    assert await staying == 30
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert endpoint.batches == [[1], [2, 3]]  # the batch was formed before it left


async def test_up_to_max_in_flight_batches_go_without_waiting() -> None:
    endpoint = Recorder()
    coalescer: Coalescer[int, int] = Coalescer("test", endpoint.send, max_batch=8, max_in_flight=3)
    tasks = [asyncio.create_task(coalescer.submit(item)) for item in range(5)]
    await settle()
    assert endpoint.batches == [[0], [1], [2]]
    endpoint.release.set()
    assert [await task for task in tasks] == [0, 10, 20, 30, 40]
    assert endpoint.batches == [[0], [1], [2], [3, 4]]
