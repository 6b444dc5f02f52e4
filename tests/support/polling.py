"""Waiting for something another process does: poll a check until it holds or a deadline
passes, instead of sleeping for a guessed time and hoping it was long enough."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    timeout_s: float = 20.0,
    what: str = "",
    interval_s: float = 0.05,
) -> T:
    """Await ``check()`` until it returns something truthy and return that; fail the test with
    ``what`` once ``timeout_s`` has passed without it. The check runs at least once, and once
    more at the deadline, so a slow machine fails only when the condition really is late."""
    deadline = time.monotonic() + timeout_s
    while True:
        last_try = time.monotonic() >= deadline
        result = await check()
        if result:
            return result
        if last_try:
            raise AssertionError(f"not within {timeout_s} s: {what or check}")
        await asyncio.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))
