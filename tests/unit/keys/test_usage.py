from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from services.keys import usage
from services.keys.usage import LastUsedRecorder

T0 = datetime(2026, 3, 12, 10, 30, tzinfo=UTC)


class FakeStorage:
    def __init__(self) -> None:
        self.batches: list[dict[str, datetime]] = []
        self.fail_next = False

    async def write(self, batch: Mapping[str, datetime]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database away")
        self.batches.append(dict(batch))


async def test_many_uses_become_one_batch_with_the_latest_time_per_key() -> None:
    storage = FakeStorage()
    recorder = LastUsedRecorder(storage.write, interval_s=60)
    for second in range(100):
        recorder.record("key_a", T0 + timedelta(seconds=second))
    recorder.record("key_b", T0)
    recorder.record("key_a", T0)  # late arrival never moves time backwards
    await recorder.flush()
    assert storage.batches == [{"key_a": T0 + timedelta(seconds=99), "key_b": T0}]
    await recorder.flush()  # nothing pending: no write
    assert len(storage.batches) == 1


async def test_failed_flush_keeps_the_batch_for_next_round() -> None:
    storage = FakeStorage()
    recorder = LastUsedRecorder(storage.write, interval_s=60)
    recorder.record("key_a", T0)
    storage.fail_next = True
    await recorder.flush()
    assert storage.batches == []
    assert recorder.pending == 1
    await recorder.flush()
    assert storage.batches == [{"key_a": T0}]


async def test_background_task_flushes_periodically_and_on_stop() -> None:
    storage = FakeStorage()
    recorder = LastUsedRecorder(storage.write, interval_s=0.05)
    recorder.start()
    recorder.record("key_a", T0)
    await asyncio.sleep(0.2)
    assert storage.batches == [{"key_a": T0}]
    recorder.record("key_b", T0)
    await recorder.stop()
    assert storage.batches[-1] == {"key_b": T0}


async def test_stop_does_not_wait_forever_for_a_database_that_never_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(usage, "STOP_TIMEOUT_S", 0.05)

    async def never_answers(batch: Mapping[str, datetime]) -> None:
        await asyncio.Event().wait()

    recorder = LastUsedRecorder(never_answers, interval_s=0.01)
    recorder.record("key_a", T0)
    recorder.start()
    await asyncio.sleep(0.05)  # the periodic flush is now stuck in the write
    recorder.record("key_b", T0)
    await asyncio.wait_for(recorder.stop(), 1.0)  # both waits are bounded
