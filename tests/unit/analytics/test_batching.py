from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.analytics.batching import Batcher
from services.analytics.enrichment import ScanRow

TS = datetime(2026, 3, 12, tzinfo=UTC)


def rows(count: int, prefix: str = "e") -> list[ScanRow]:
    return [
        ScanRow(
            f"{prefix}{n}", "acc", "qr", TS, "", "", "mobile", "ios", "Safari", False, "", "", n
        )
        for n in range(count)
    ]


def test_a_batch_closes_by_size_and_remembers_its_last_delivery() -> None:
    batcher: Batcher[int] = Batcher(max_events=25, max_wait_s=0.2)
    for tag in range(1, 3):
        batcher.add(tag, rows(10, f"m{tag}-"), now=0.0)
        assert not batcher.is_full
    batcher.add(3, rows(10, "m3-"), now=0.01)
    assert batcher.is_full
    assert batcher.is_due(0.01)
    batch = batcher.take()
    assert batch is not None
    assert (len(batch.rows), batch.messages, batch.last) == (30, 3, 3)
    assert [row.event_id for row in batch.rows[:2]] == ["m1-0", "m1-1"]
    assert batcher.is_empty
    assert batcher.take() is None


def test_a_batch_closes_by_age_from_its_first_message() -> None:
    batcher: Batcher[int] = Batcher(max_events=5000, max_wait_s=0.2)
    assert batcher.time_left(100.0) is None
    assert not batcher.is_due(100.0)
    batcher.add(1, rows(1), now=100.0)
    batcher.add(2, rows(1), now=100.15)
    assert batcher.time_left(100.15) == pytest.approx(0.05)
    assert not batcher.is_due(100.19)
    assert batcher.is_due(100.2)


def test_messages_without_events_still_join_a_batch_for_their_ack() -> None:
    batcher: Batcher[str] = Batcher(max_events=10, max_wait_s=0.2)
    batcher.add("only", [], now=0.0)
    assert batcher.pending_events == 0
    assert not batcher.is_empty
    batch = batcher.take()
    assert batch is not None
    assert (batch.rows, batch.messages, batch.last) == ([], 1, "only")


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Batcher(0, 0.2)
    with pytest.raises(ValueError):
        Batcher(10, 0)
