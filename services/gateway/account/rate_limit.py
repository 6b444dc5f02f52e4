"""60 s sliding-window rate limiting over one or more windows at once.

A sliding *log* (one timestamp per accepted request) rather than fixed buckets: exactly
``limit`` requests pass in any 60 s span, with no burst of 2x at a bucket edge. In-process by
default; with Redis the logs are sorted sets updated by one Lua script, so every gateway replica
shares the windows atomically and uses the Redis clock.

A request is weighed against several windows together (its account's and its key's): it is
counted in all of them or in none, so a request refused by one window never uses up another.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class Window:
    """One window a request is counted in: its name and how many requests it holds."""

    name: str
    limit: int


def request_windows(
    account_id: str, account_limit: int, key_id: str, key_limit: int | None
) -> list[Window]:
    """The plan's limit is the account's, shared by all its keys (minting keys must not
    multiply it); a key's own limit, when it has one, is a second window inside it.

    Both names carry the account id in braces, a Redis Cluster hash tag, so the two windows
    live on one shard and one script can update them atomically.
    """
    windows = [Window(f"{{{account_id}}}:account", account_limit)]
    if key_limit is not None:
        windows.append(Window(f"{{{account_id}}}:key:{key_id}", key_limit))
    return windows


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix seconds when the oldest request in the window expires
    retry_after: int  # seconds until one more request would pass (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass(frozen=True, slots=True)
class WindowCount:
    """One window as a request left it (times in Unix seconds)."""

    limit: int
    count: int  # requests in the window, the weighed one included when it was counted
    oldest: float  # when the oldest of them was counted (now when there are none)
    frees_at: float  # when the request that must expire for the window to have room was counted


def decide(allowed: bool, now: float, windows: Sequence[WindowCount]) -> RateDecision:
    """One decision from several windows: the tighter one speaks.

    Allowed: the window with the fewest requests left (the lower limit on a tie), so the headers
    never promise more than the next request can have. Refused: the full window that frees up
    last, since the request needs room in every window.
    """
    if allowed:
        shown = min(windows, key=lambda w: (w.limit - w.count, w.limit))
        retry_after = 0
    else:
        shown = max((w for w in windows if w.count >= w.limit), key=lambda w: w.frees_at)
        retry_after = max(1, math.ceil(shown.frees_at + WINDOW_S - now))
    return RateDecision(
        allowed=allowed,
        limit=shown.limit,
        remaining=max(0, shown.limit - shown.count),
        reset_at=math.ceil(shown.oldest + WINDOW_S),
        retry_after=retry_after,
    )


class SlidingWindow(Protocol):
    async def hit(self, windows: Sequence[Window]) -> RateDecision:
        """Count one request in every window if it fits under all their limits; say whether it
        did."""
        ...

    async def peek(self, windows: Sequence[Window]) -> RateDecision:
        """Whether one request would fit now; counts nothing."""
        ...

    async def close(self) -> None: ...


class InMemorySlidingWindow:
    """One gateway's own windows; right for a single replica."""

    _SWEEP_FLOOR: Final = 10_000
    # A hard bound besides the sweep: a flood from more distinct sources than this within one
    # window (spoofed or rented addresses) would otherwise grow the map with the flood. Past
    # it the least recently used windows are forgotten first.
    DEFAULT_MAX_WINDOWS: Final = 200_000

    def __init__(self, max_windows: int = DEFAULT_MAX_WINDOWS) -> None:
        self._logs: OrderedDict[str, deque[float]] = OrderedDict()
        self._sweep_at = self._SWEEP_FLOOR
        self._max_windows = max_windows

    async def hit(self, windows: Sequence[Window]) -> RateDecision:
        return self._weigh(windows, record=True)

    async def peek(self, windows: Sequence[Window]) -> RateDecision:
        return self._weigh(windows, record=False)

    def _weigh(self, windows: Sequence[Window], *, record: bool) -> RateDecision:
        now = time.time()
        horizon = now - WINDOW_S
        logs = [self._logs.get(window.name) or deque() for window in windows]
        for log in logs:
            while log and log[0] <= horizon:
                log.popleft()
        fits = all(len(log) < window.limit for log, window in zip(logs, windows, strict=True))
        if fits and record:
            for log, window in zip(logs, windows, strict=True):
                log.append(now)
                self._logs[window.name] = log
        for window in windows:  # a refused client is in use too: it must not be forgotten
            if window.name in self._logs:
                self._logs.move_to_end(window.name)
        while len(self._logs) > self._max_windows:
            self._logs.popitem(last=False)
        counts = [
            WindowCount(
                limit=window.limit,
                count=len(log),
                oldest=log[0] if log else now,
                frees_at=log[max(0, len(log) - window.limit)] if log else now,
            )
            for log, window in zip(logs, windows, strict=True)
        ]
        self._forget_idle(now)
        return decide(fits, now, counts)

    def _forget_idle(self, now: float) -> None:
        # Windows are keyed by account, key and client address: without a sweep, a stream of
        # new addresses would grow the map for ever. Amortised: sweep when it doubles.
        if len(self._logs) < self._sweep_at:
            return
        horizon = now - WINDOW_S
        self._logs = OrderedDict(
            (name, log) for name, log in self._logs.items() if log and log[-1] > horizon
        )
        self._sweep_at = max(self._SWEEP_FLOOR, 2 * len(self._logs))

    async def close(self) -> None:
        self._logs.clear()


# KEYS: the windows' sorted sets. ARGV: window ms, 1 to count the request (0 to only look),
# a unique member, then one limit per key. Returns {fits, now_ms, then per key: count,
# oldest_ms, frees_ms}.
_WEIGH_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local counts = {}
local fits = 1
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  counts[i] = redis.call('ZCARD', key)
  if counts[i] >= tonumber(ARGV[3 + i]) then fits = 0 end
end
local result = {fits, now}
for i, key in ipairs(KEYS) do
  if fits == 1 and ARGV[2] == '1' then
    redis.call('ZADD', key, now, ARGV[3])
    counts[i] = counts[i] + 1
    redis.call('PEXPIRE', key, window)
  end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local frees_at = math.max(0, counts[i] - tonumber(ARGV[3 + i]))
  local frees = redis.call('ZRANGE', key, frees_at, frees_at, 'WITHSCORES')
  table.insert(result, counts[i])
  table.insert(result, oldest[2] and tonumber(oldest[2]) or now)
  table.insert(result, frees[2] and tonumber(frees[2]) or now)
end
return result
"""


class RedisSlidingWindow:
    """Windows shared by every gateway replica through Redis.

    A Redis outage degrades to this replica's own windows (:class:`InMemorySlidingWindow`)
    instead of failing every request: limits stay, only per replica, until Redis is back."""

    def __init__(self, url: str, prefix: str = "qrforge:ratelimit:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._script = self._redis.register_script(_WEIGH_SCRIPT)
        self._fallback = InMemorySlidingWindow()

    async def hit(self, windows: Sequence[Window]) -> RateDecision:
        return await self._weigh_or_fall_back(windows, record=True)

    async def peek(self, windows: Sequence[Window]) -> RateDecision:
        return await self._weigh_or_fall_back(windows, record=False)

    async def _weigh_or_fall_back(self, windows: Sequence[Window], *, record: bool) -> RateDecision:
        try:
            return await self._weigh(windows, record=record)
        except (RedisError, OSError):
            log.warning("shared rate limiter unavailable, limiting in-process")
            fallback = self._fallback
            return await (fallback.hit(windows) if record else fallback.peek(windows))

    async def _weigh(self, windows: Sequence[Window], *, record: bool) -> RateDecision:
        member = f"{time.time_ns()}-{secrets.token_hex(4)}"
        fits, now_ms, *per_window = await self._script(
            keys=[self._prefix + window.name for window in windows],
            args=[
                int(WINDOW_S * 1000),
                1 if record else 0,
                member,
                *(window.limit for window in windows),
            ],
        )
        counts = [
            WindowCount(
                limit=window.limit,
                count=int(per_window[3 * i]),
                oldest=per_window[3 * i + 1] / 1000,
                frees_at=per_window[3 * i + 2] / 1000,
            )
            for i, window in enumerate(windows)
        ]
        return decide(bool(fits), now_ms / 1000, counts)

    async def close(self) -> None:
        await self._fallback.close()
        await self._redis.aclose()
