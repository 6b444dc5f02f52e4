"""Password tries per (client address, code): at most ``max_tries`` wrong ones within ``window_s``.

A try is *reserved* before its password is verified, and the reservation is what counts: the
check and the count are one atomic step, so guesses sent all at once cannot all pass the check
before the first failure is recorded. A right password releases its reservation, because only
wrong tries count (API.md) and a visitor who knows the password must not lock themselves out
by coming back; an attacker gains nothing from it, a release needs the right password.

In-process by default, one count per replica (bounded: the least recently touched keys are
forgotten first). With Redis every replica shares the count: one Lua script per reservation,
on the Redis clock. If Redis cannot be reached, :class:`PasswordLimiterUnavailableError` says
so and the caller refuses the try: falling back to per-replica counts would silently multiply
the allowance by the number of replicas, at the moment nobody can see it.

An IPv6 client counts per /64 (:func:`~services.runtime.client_ip.address_source`): one host
is usually given a whole /64, and would otherwise have 2^64 fresh allowances.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from services.runtime.client_ip import address_source

log = logging.getLogger(__name__)

DEFAULT_MAX_TRIES: Final = 5
DEFAULT_WINDOW_S: Final = 15 * 60.0


@dataclass(frozen=True, slots=True)
class TryReservation:
    """One try held for a password being verified; give it back with ``release``."""

    key: str
    token: str


@dataclass(frozen=True, slots=True)
class TriesExhausted:
    retry_after_s: float


class PasswordLimiterUnavailableError(Exception):
    """The shared count (Redis) could not be reached: the try is neither allowed nor counted."""


class PasswordLimiter(Protocol):
    async def reserve(self, ip: str, code: str) -> TryReservation | TriesExhausted:
        """Take one of the tries of (``ip``, ``code``) if one is left."""
        ...

    async def release(self, reservation: TryReservation) -> None:
        """Give a try back (its password was right)."""
        ...

    async def close(self) -> None: ...


class InProcessPasswordLimiter:
    """This replica's own count."""

    def __init__(
        self,
        max_tries: int = DEFAULT_MAX_TRIES,
        window_s: float = DEFAULT_WINDOW_S,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_tries = max_tries
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        # (ip, code) -> reservation token -> when it was taken, oldest first.
        self._tries: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._tokens = itertools.count()

    def _recent(self, key: str, now: float) -> dict[str, float]:
        tries = self._tries.get(key)
        if tries is None:
            tries = self._tries[key] = {}
        horizon = now - self._window_s
        for token, taken_at in list(tries.items()):
            if taken_at > horizon:
                break
            del tries[token]
        return tries

    async def reserve(self, ip: str, code: str) -> TryReservation | TriesExhausted:
        # No await between the check and the count: on one event loop this is atomic.
        now = self._clock()
        key = f"{code}:{address_source(ip)}"
        tries = self._recent(key, now)
        self._tries.move_to_end(key)
        if len(tries) >= self._max_tries:
            oldest = next(iter(tries.values()))
            return TriesExhausted(max(0.0, oldest + self._window_s - now))
        token = str(next(self._tokens))
        tries[token] = now
        while len(self._tries) > self._max_keys:
            self._tries.popitem(last=False)
        return TryReservation(key, token)

    async def release(self, reservation: TryReservation) -> None:
        tries = self._tries.get(reservation.key)
        if tries is not None:
            tries.pop(reservation.token, None)

    async def close(self) -> None:
        self._tries.clear()


# KEYS[1]: the (code, ip) sorted set of reservations scored by Redis time in ms.
# ARGV: window ms, max tries, reservation token. Returns 0 when reserved, else ms to wait.
_RESERVE_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RedisPasswordLimiter:
    """A count shared by every redirect replica through Redis."""

    def __init__(
        self,
        url: str,
        max_tries: int = DEFAULT_MAX_TRIES,
        window_s: float = DEFAULT_WINDOW_S,
        prefix: str = "qrforge:password-tries:",
    ) -> None:
        # One retry (a pooled connection Redis closed), not the client's default ten with
        # backoff: a visitor waits on this, and a reservation retried with its token is
        # idempotent (ZADD of the same member).
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 1)
        )
        self._max_tries = max_tries
        self._window_ms = int(window_s * 1000)
        self._prefix = prefix
        self._reserve = self._redis.register_script(_RESERVE_SCRIPT)

    async def reserve(self, ip: str, code: str) -> TryReservation | TriesExhausted:
        key = f"{self._prefix}{code}:{address_source(ip)}"
        token = secrets.token_hex(8)
        try:
            wait_ms = await self._reserve(
                keys=[key], args=[self._window_ms, self._max_tries, token]
            )
        except (RedisError, OSError) as exc:
            # The class only: a connection error's text could carry the URL's credentials.
            log.warning("password tries: Redis unavailable", extra={"error": type(exc).__name__})
            raise PasswordLimiterUnavailableError from exc
        if wait_ms:
            return TriesExhausted(int(wait_ms) / 1000)
        return TryReservation(key, token)

    async def release(self, reservation: TryReservation) -> None:
        try:
            await self._redis.zrem(reservation.key, reservation.token)
        except (RedisError, OSError) as exc:
            # The visitor already got in; the try just stays counted until the window ends.
            log.warning("password tries: release failed", extra={"error": type(exc).__name__})

    async def check(self) -> None:
        """Raise when Redis cannot be reached (readiness report)."""
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
