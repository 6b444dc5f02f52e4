"""The batch step: rows from consecutive messages collect into one insert, closed by size
(``max_events``) or by age (``max_wait_s`` after its first message), whichever comes first.

A batch remembers only its last delivery: after the insert, acknowledging that delivery with
``multiple=True`` settles every message of the batch at once (deliveries on a channel carry
increasing tags, and batches are written and acknowledged strictly in order). Pure: the clock
is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.analytics.enrichment import ScanRow

D = TypeVar("D")


@dataclass(slots=True)
class Batch(Generic[D]):
    started_at: float
    rows: list[ScanRow] = field(default_factory=list)
    messages: int = 0
    last: D | None = None


class Batcher(Generic[D]):
    def __init__(self, max_events: int, max_wait_s: float) -> None:
        if max_events < 1 or max_wait_s <= 0:
            raise ValueError("a batch needs a positive size and age bound")
        self.max_events = max_events
        self.max_wait_s = max_wait_s
        self._open: Batch[D] | None = None

    def add(self, delivery: D, rows: list[ScanRow], now: float) -> None:
        """Add one message's rows (possibly none: the message still needs its ack)."""
        if self._open is None:
            self._open = Batch(started_at=now)
        self._open.rows.extend(rows)
        self._open.messages += 1
        self._open.last = delivery

    @property
    def pending_events(self) -> int:
        return 0 if self._open is None else len(self._open.rows)

    @property
    def is_empty(self) -> bool:
        return self._open is None

    @property
    def is_full(self) -> bool:
        return self._open is not None and len(self._open.rows) >= self.max_events

    def time_left(self, now: float) -> float | None:
        """Seconds until the open batch is due; ``None`` when there is none."""
        if self._open is None:
            return None
        return max(0.0, self._open.started_at + self.max_wait_s - now)

    def is_due(self, now: float) -> bool:
        left = self.time_left(now)
        return self.is_full or (left is not None and left <= 0.0)

    def take(self) -> Batch[D] | None:
        """Close the open batch and hand it over (``None`` when nothing is open)."""
        batch, self._open = self._open, None
        return batch
