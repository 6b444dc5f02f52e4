"""When to try a request again, and how long to wait first (pure: no I/O, no clock of its own).

Retried: 429 (over the rate limit: nothing was done) and 502/503/504 (a backing service is down
or restarting), and a connection that failed before any answer came. The wait honours what the
server said, ``Retry-After`` (seconds or an HTTP date) first, then ``X-RateLimit-Reset`` (Unix
seconds); without either it is an exponential backoff with jitter. Every wait is capped at
``max_delay_s`` so a client never hangs for a minute on one call unless asked to."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
# A request any number of copies of which has the effect of one. POSTs join them when they carry
# an Idempotency-Key (the client adds one to each POST): the server replays the first answer.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_base_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, headers: Mapping[str, str] | None, now: float) -> float:
        """Seconds to wait before retry number ``attempt + 1``; ``now`` is Unix time."""
        told = server_delay(headers, now) if headers is not None else None
        if told is None:
            told = random.uniform(0, self.backoff_base_s * 2**attempt)  # full jitter
        return max(0.0, min(told, self.max_delay_s))


def server_delay(headers: Mapping[str, str], now: float) -> float | None:
    """What the server asked for: ``Retry-After``, else ``X-RateLimit-Reset``; None if neither
    is there or readable."""
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return float(retry_after)
        except ValueError:
            try:
                return parsedate_to_datetime(retry_after).timestamp() - now
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return float(reset) - now
        except ValueError:
            return None
    return None


def may_resend(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request whose answer was lost may be sent again without doing it twice."""
    return method in IDEMPOTENT_METHODS or "idempotency-key" in {k.lower() for k in headers}
