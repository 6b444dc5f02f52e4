from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.redirect.spool import Spool, SpoolLockedError


def events(start: int, count: int) -> list[str]:
    return [json.dumps({"event_id": f"e{i}", "qr_id": "qr_1"}) for i in range(start, start + count)]


def drain(spool: Spool, batch: int = 4) -> list[str]:
    seen: list[str] = []
    while (peeked := spool.peek(batch)) is not None:
        seen.extend(json.loads(e)["event_id"] for e in peeked.events)
        spool.commit(peeked)
    return seen


def test_replay_in_order_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_max_events=5)
    spool.append(events(0, 7))
    spool.append(events(7, 6))
    spool.sync()
    assert spool.size == 13
    assert len(list(tmp_path.glob("scans-*.jsonl"))) == 3
    assert drain(spool) == [f"e{i}" for i in range(13)]
    assert spool.size == 0
    assert list(tmp_path.glob("scans-*.jsonl")) == []
    spool.close()


def test_appends_during_replay_come_after(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_max_events=100)
    spool.append(events(0, 3))
    first = spool.peek(2)
    assert first is not None
    spool.append(events(3, 2))  # the open segment was closed by peek: goes to a new one
    spool.commit(first)
    assert drain(spool) == ["e2", "e3", "e4"]
    spool.close()


def test_unconfirmed_batch_is_replayed_after_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_max_events=100)
    spool.append(events(0, 6))
    confirmed = spool.peek(2)
    assert confirmed is not None
    spool.commit(confirmed)
    unconfirmed = spool.peek(2)  # published, never confirmed: must come back
    assert unconfirmed is not None
    spool.close()

    reopened = Spool(tmp_path, segment_max_events=100)
    assert reopened.size == 4
    assert drain(reopened) == ["e2", "e3", "e4", "e5"]
    reopened.close()


def test_new_process_never_appends_to_old_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(events(0, 2))
    spool.close()
    again = Spool(tmp_path)
    again.append(events(2, 2))
    again.sync()
    assert len(list(tmp_path.glob("scans-*.jsonl"))) == 2
    assert drain(again) == ["e0", "e1", "e2", "e3"]
    again.close()


def test_torn_line_is_skipped_not_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(events(0, 2))
    spool.close()
    segment = next(tmp_path.glob("scans-*.jsonl"))
    with segment.open("ab") as f:
        f.write(json.dumps({"event_id": "e2"}).encode()[:7])  # a crash mid-write
    reopened = Spool(tmp_path)
    assert reopened.size == 3
    assert drain(reopened) == ["e0", "e1"]
    assert reopened.skipped_lines == 1
    assert reopened.size == 0
    reopened.close()


def test_commit_must_follow_peek_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(events(0, 4))
    batch = spool.peek(2)
    assert batch is not None
    spool.commit(batch)
    with pytest.raises(ValueError, match="out of order"):
        spool.commit(batch)
    spool.close()


def test_one_process_per_spool_directory(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with pytest.raises(SpoolLockedError):
        Spool(tmp_path)
    spool.close()
