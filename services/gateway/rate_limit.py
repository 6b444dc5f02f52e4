"""Per-key 60 s sliding-window rate limiting.

A sliding *log* (one timestamp per accepted request) rather than fixed buckets: exactly
``limit`` requests pass in any 60 s span, with no burst of 2x at a bucket edge. In-process by
default; with Redis the log is a sorted set updated by one Lua script, so every gateway replica
shares the window atomically and uses the Redis clock.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Final, Protocol

from redis.asyncio import Redis

WINDOW_S: Final = 60.0


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


def _decision(allowed: bool, limit: int, count: int, now: float, oldest: float) -> RateDecision:
    frees_at = oldest + WINDOW_S
    return RateDecision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - count),
        reset_at=math.ceil(frees_at),
        retry_after=0 if allowed else max(1, math.ceil(frees_at - now)),
    )


class SlidingWindow(Protocol):
    async def hit(self, key: str, limit: int) -> RateDecision:
        """Count one request for ``key`` if it fits under ``limit``; say whether it did."""
        ...

    async def close(self) -> None: ...


class InMemorySlidingWindow:
    """One gateway's own window; right for a single replica."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}

    async def hit(self, key: str, limit: int) -> RateDecision:
        now = time.time()
        log = self._logs.setdefault(key, deque())
        horizon = now - WINDOW_S
        while log and log[0] <= horizon:
            log.popleft()
        allowed = len(log) < limit
        if allowed:
            log.append(now)
        return _decision(allowed, limit, len(log), now, log[0] if log else now)

    async def close(self) -> None:
        self._logs.clear()


_HIT_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local oldest_ms = now
if oldest[2] then oldest_ms = tonumber(oldest[2]) end
return {allowed, count, now, oldest_ms}
"""


class RedisSlidingWindow:
    """A window shared by every gateway replica through Redis."""

    def __init__(self, url: str, prefix: str = "qrforge:ratelimit:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._script = self._redis.register_script(_HIT_SCRIPT)

    async def hit(self, key: str, limit: int) -> RateDecision:
        member = f"{time.time_ns()}-{secrets.token_hex(4)}"
        allowed, count, now_ms, oldest_ms = await self._script(
            keys=[self._prefix + key], args=[int(WINDOW_S * 1000), limit, member]
        )
        return _decision(bool(allowed), limit, int(count), now_ms / 1000, oldest_ms / 1000)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
