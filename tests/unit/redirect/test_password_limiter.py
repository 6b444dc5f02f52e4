from __future__ import annotations

import asyncio

import pytest

from services.redirect.password_limiter import (
    InProcessPasswordLimiter,
    PasswordLimiterUnavailableError,
    RedisPasswordLimiter,
    TriesExhausted,
    TryReservation,
)

WINDOW = 900.0


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(clock: FakeClock, max_keys: int = 100_000) -> InProcessPasswordLimiter:
    return InProcessPasswordLimiter(max_tries=5, window_s=WINDOW, max_keys=max_keys, clock=clock)


async def test_five_tries_then_exhausted_until_the_oldest_leaves_the_window() -> None:
    clock = FakeClock()
    tries = limiter(clock)
    for i in range(5):
        clock.now = 100.0 + i
        assert isinstance(await tries.reserve("1.2.3.4", "Abc1234"), TryReservation)
    clock.now = 110.0
    refused = await tries.reserve("1.2.3.4", "Abc1234")
    assert refused == TriesExhausted(100.0 + WINDOW - 110.0)
    # The first try (t=100) leaves the window at t=1000: one more is allowed.
    clock.now = 1000.0
    assert isinstance(await tries.reserve("1.2.3.4", "Abc1234"), TryReservation)
    assert isinstance(await tries.reserve("1.2.3.4", "Abc1234"), TriesExhausted)


async def test_reservations_taken_at_once_never_exceed_the_limit() -> None:
    tries = limiter(FakeClock())
    results = await asyncio.gather(*(tries.reserve("ip", "code123") for _ in range(200)))
    assert sum(isinstance(r, TryReservation) for r in results) == 5


async def test_release_gives_the_try_back() -> None:
    tries = limiter(FakeClock())
    taken = [await tries.reserve("ip", "code123") for _ in range(5)]
    assert isinstance(await tries.reserve("ip", "code123"), TriesExhausted)
    assert isinstance(taken[2], TryReservation)
    await tries.release(taken[2])
    await tries.release(taken[2])  # twice is harmless
    assert isinstance(await tries.reserve("ip", "code123"), TryReservation)
    assert isinstance(await tries.reserve("ip", "code123"), TriesExhausted)


async def test_tries_are_per_ip_and_per_code() -> None:
    tries = limiter(FakeClock())
    for _ in range(5):
        await tries.reserve("1.2.3.4", "Abc1234")
    assert isinstance(await tries.reserve("1.2.3.4", "Abc1234"), TriesExhausted)
    assert isinstance(await tries.reserve("5.6.7.8", "Abc1234"), TryReservation)
    assert isinstance(await tries.reserve("1.2.3.4", "Other12"), TryReservation)


async def test_bounded_memory_forgets_least_recent_keys() -> None:
    clock = FakeClock()
    tries = InProcessPasswordLimiter(max_tries=1, window_s=WINDOW, max_keys=2, clock=clock)
    for ip in ("a", "b", "c"):
        await tries.reserve(ip, "code123")
    assert isinstance(await tries.reserve("a", "code123"), TryReservation)
    assert isinstance(await tries.reserve("c", "code123"), TriesExhausted)


async def test_unreachable_redis_is_unavailable_not_allowed(
    unused_tcp_port: int,
) -> None:
    tries = RedisPasswordLimiter(f"redis://127.0.0.1:{unused_tcp_port}/0")
    try:
        with pytest.raises(PasswordLimiterUnavailableError):
            await tries.reserve("ip", "code123")
    finally:
        await tries.close()
