from __future__ import annotations

import socket

import pytest

from services.gateway.account.rate_limit import (
    WINDOW_S,
    InMemorySlidingWindow,
    RedisSlidingWindow,
    Window,
    WindowCount,
    decide,
    request_windows,
)

NOW = 1_800_000_000.0


def test_an_allowed_request_reports_the_window_with_fewest_left() -> None:
    account = WindowCount(limit=20, count=18, oldest=NOW - 30, frees_at=NOW - 30)
    key = WindowCount(limit=5, count=1, oldest=NOW, frees_at=NOW)
    decision = decide(True, NOW, [account, key])
    assert (decision.limit, decision.remaining, decision.retry_after) == (20, 2, 0)
    assert decision.reset_at == NOW - 30 + WINDOW_S


def test_a_tie_reports_the_lower_limit() -> None:
    account = WindowCount(limit=20, count=17, oldest=NOW, frees_at=NOW)
    key = WindowCount(limit=5, count=2, oldest=NOW, frees_at=NOW)
    assert decide(True, NOW, [account, key]).limit == 5


def test_a_refused_request_waits_for_the_full_window_that_frees_last() -> None:
    account = WindowCount(limit=20, count=20, oldest=NOW - 50, frees_at=NOW - 50)
    key = WindowCount(limit=5, count=5, oldest=NOW - 10, frees_at=NOW - 10)
    roomy = WindowCount(limit=100, count=3, oldest=NOW, frees_at=NOW)
    decision = decide(False, NOW, [account, key, roomy])
    assert (decision.allowed, decision.limit, decision.remaining) == (False, 5, 0)
    assert decision.retry_after == 50
    assert decision.headers()["Retry-After"] == "50"


def test_a_window_over_a_lowered_limit_waits_for_enough_requests_to_expire() -> None:
    # 8 requests counted under an old limit of 10; the limit is now 5: 4 must expire first.
    lowered = WindowCount(limit=5, count=8, oldest=NOW - 55, frees_at=NOW - 20)
    assert decide(False, NOW, [lowered]).retry_after == 40


def test_request_windows_share_the_account_and_add_the_keys_own() -> None:
    assert request_windows("acc_1", 20, "key_a", None) == [Window("{acc_1}:account", 20)]
    assert request_windows("acc_1", 20, "key_a", 5) == [
        Window("{acc_1}:account", 20),
        Window("{acc_1}:key:key_a", 5),
    ]


async def test_in_memory_counts_in_every_window_or_in_none() -> None:
    limiter = InMemorySlidingWindow()
    account, slow = Window("acc", 4), Window("slow", 2)
    assert [(await limiter.hit([account, slow])).allowed for _ in range(3)] == [True, True, False]
    # The refused request did not use the account's window.
    fast = [(await limiter.hit([account])).remaining for _ in range(3)]
    assert fast == [1, 0, 0]
    assert not (await limiter.peek([account])).allowed


async def test_peek_counts_nothing() -> None:
    limiter = InMemorySlidingWindow()
    window = Window("failures", 1)
    for _ in range(3):
        assert (await limiter.peek([window])).allowed
    assert (await limiter.hit([window])).allowed
    assert not (await limiter.peek([window])).allowed


async def test_in_memory_windows_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [NOW]
    monkeypatch.setattr("services.gateway.account.rate_limit.time.time", lambda: clock[0])
    limiter = InMemorySlidingWindow()
    window = Window("w", 1)
    assert (await limiter.hit([window])).allowed
    refused = await limiter.hit([window])
    assert (refused.allowed, refused.retry_after) == (False, 60)
    clock[0] += WINDOW_S
    assert (await limiter.hit([window])).allowed


async def test_in_memory_windows_stay_bounded_under_a_flood_of_sources() -> None:
    """A flood from more distinct addresses than the bound within one window forgets the
    least recently used windows first; a window in use survives it."""
    limiter = InMemorySlidingWindow(max_windows=100)
    busy = Window("busy-client", 3)
    assert (await limiter.hit([busy])).allowed
    for i in range(1000):
        await limiter.hit([Window(f"spoofed-{i}", 3)])
        if i % 50 == 0:
            await limiter.hit([busy])  # keeps it among the recently used
    assert len(limiter._logs) <= 100
    assert not (await limiter.peek([busy])).allowed  # still counted: 1 + 20 hits > 3


async def test_redis_out_of_reach_degrades_to_limits_in_process() -> None:
    """Redis down fails no request and lifts no limit: the replica limits on its own."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    limiter = RedisSlidingWindow(f"redis://127.0.0.1:{port}/0")
    try:
        window = Window("out-of-reach", 2)
        assert [(await limiter.hit([window])).allowed for _ in range(3)] == [True, True, False]
        assert not (await limiter.peek([window])).allowed
    finally:
        await limiter.close()
