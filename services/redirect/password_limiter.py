"""Wrong-password throttling: more than ``max_failures`` wrong tries per (IP, code) within
``window_s`` answer 429 until the oldest try leaves the window. In memory, bounded: the
least recently touched keys are forgotten first. Per replica, like the cache."""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Final

DEFAULT_MAX_FAILURES: Final = 5
DEFAULT_WINDOW_S: Final = 15 * 60.0


class PasswordLimiter:
    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window_s: float = DEFAULT_WINDOW_S,
        max_keys: int = 100_000,
    ) -> None:
        self._max_failures = max_failures
        self._window_s = window_s
        self._max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, ip: str, code: str, now: float) -> float | None:
        """Seconds until another try is allowed, or ``None`` when a try is allowed now."""
        times = self._recent((ip, code), now)
        if times is None or len(times) < self._max_failures:
            return None
        return max(0.0, times[-self._max_failures] + self._window_s - now)

    def record_failure(self, ip: str, code: str, now: float) -> None:
        key = (ip, code)
        times = self._recent(key, now)
        if times is None:
            times = self._failures[key] = deque(maxlen=self._max_failures)
        times.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)
