"""When a failed delivery is tried again: API.md's backoff (about 5 s, 30 s, 2 min, 10 min,
1 h, then every 3 h) with ±20 % jitter, so endpoints that failed together (an outage on their
side) are not all retried in the same second; given up once the next attempt would fall more
than 24 h after the event."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

JITTER: Final = 0.2


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays_s: tuple[float, ...]
    then_every_s: float
    give_up_after_s: float
    jitter: Callable[[], float] = lambda: random.uniform(1 - JITTER, 1 + JITTER)

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1 = the first)."""
        base = self.delays_s[attempts - 1] if attempts <= len(self.delays_s) else self.then_every_s
        return base * self.jitter()

    def next_attempt(self, attempts: int, created_at: datetime, now: datetime) -> datetime | None:
        """The next attempt's time, or None when the retry window is over."""
        when = now + timedelta(seconds=self.delay_after(attempts))
        if when > created_at + timedelta(seconds=self.give_up_after_s):
            return None
        return when
