"""API.md's schedule: about 5 s, 30 s, 2 min, 10 min, 1 h, then every 3 h, for 24 h."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.webhooks.retry_schedule import RetrySchedule
from services.webhooks.settings import DEFAULT_RETRY_SCHEDULE_S

START = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def test_delays_follow_the_schedule_then_every_three_hours() -> None:
    exact = RetrySchedule(DEFAULT_RETRY_SCHEDULE_S, 3 * 3600, 86_400, jitter=lambda: 1.0)
    assert [exact.delay_after(n) for n in range(1, 8)] == [
        5, 30, 120, 600, 3600, 10_800, 10_800,
    ]  # fmt: skip


def test_jitter_stays_within_a_fifth() -> None:
    schedule = RetrySchedule(DEFAULT_RETRY_SCHEDULE_S, 3 * 3600, 86_400)
    delays = {schedule.delay_after(2) for _ in range(200)}
    assert len(delays) > 100 and all(24 <= d <= 36 for d in delays)


def test_retries_stop_after_24_hours() -> None:
    schedule = RetrySchedule(DEFAULT_RETRY_SCHEDULE_S, 3 * 3600, 86_400, jitter=lambda: 1.0)
    now, attempts = START, 0
    while True:
        attempts += 1
        following = schedule.next_attempt(attempts, START, now)
        if following is None:
            break
        now = following
    assert now - START <= timedelta(hours=24)
    assert attempts == 13  # the first, 5 quick retries, then every 3 h up to the 24th hour
