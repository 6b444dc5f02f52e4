"""Bounds on guessing keys, per client address: failed authentications in a window, and
authentications in flight at once.

Without them an attacker could try keys as fast as the keys service answers. The address is
the socket peer, or what a trusted proxy wrote in ``X-Forwarded-For`` (never what an untrusted
peer wrote: rotating that header would otherwise give each guess a fresh window), an IPv6
client counted by its /64.

A failure is only known once keys has answered, so the window is checked before and counted
after: concurrent guesses could all pass the check first. :class:`InFlightAuthentications`
closes that gap: an address has at most a few authentications in flight on a replica at once
(the rest wait their turn, up to a bound), so a burst overshoots the window by those few, not
by its size.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from services.gateway.account.rate_limit import Window

DEFAULT_CONCURRENCY: Final = 4
DEFAULT_MAX_WAITING: Final = 256


def failure_window(source: str, limit: int) -> Window:
    return Window(f"auth-failures:{source}", limit)


class TooManyInFlightError(Exception):
    """The address already has as many authentications in flight and waiting as it may."""


class InFlightAuthentications:
    """Per source, at most ``concurrency`` authentications asked of keys at once; up to
    ``max_waiting`` more wait for a turn, and past that :class:`TooManyInFlightError`.

    Memory follows the requests in flight: a source's entry goes with its last request."""

    def __init__(
        self, concurrency: int = DEFAULT_CONCURRENCY, max_waiting: int = DEFAULT_MAX_WAITING
    ) -> None:
        self._concurrency = concurrency
        self._max_waiting = max_waiting
        self._turns: dict[str, asyncio.Semaphore] = {}
        self._holders: dict[str, int] = {}

    @asynccontextmanager
    async def turn(self, source: str) -> AsyncIterator[None]:
        holders = self._holders.get(source, 0)
        if holders >= self._concurrency + self._max_waiting:
            raise TooManyInFlightError(source)
        turn = self._turns.setdefault(source, asyncio.Semaphore(self._concurrency))
        self._holders[source] = holders + 1
        try:
            async with turn:
                yield
        finally:
            self._holders[source] -= 1
            if not self._holders[source]:
                del self._holders[source]
                del self._turns[source]
