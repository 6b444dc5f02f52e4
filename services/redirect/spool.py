"""The disk spool: scan events that could not be published yet, replayed in order later.

Layout of the spool directory (one per replica, locked by its process):

* ``scans-<20-digit sequence>.jsonl``: append-only segments, one JSON event per line. A process
  only appends to segments it created; a segment is closed when full or when replay reaches it.
* ``cursor.json``: how many lines of the oldest segment are already confirmed by the broker.

Events leave the spool only through :meth:`Spool.commit`, called once the batch that carried
them was confirmed; a fully confirmed segment is deleted. Writes are flushed to the kernel at
once and fsync'd in batches by :meth:`Spool.sync`. A line that does not parse (a torn write
after a crash) is skipped and counted, never replayed as garbage. The cursor is not fsync'd:
after a machine crash a confirmed batch may be replayed again, which analytics deduplicates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

SEGMENT_PREFIX: Final = "scans-"
SEGMENT_SUFFIX: Final = ".jsonl"
CURSOR_FILE: Final = "cursor.json"
LOCK_FILE: Final = ".lock"


class SpoolLockedError(RuntimeError):
    """Another process already uses this spool directory."""


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    segment: str
    start: int  # first line (inclusive)
    end: int  # last line (exclusive)
    events: list[str] = field(default_factory=list)  # each one JSON object


def _segment_name(sequence: int) -> str:
    return f"{SEGMENT_PREFIX}{sequence:020d}{SEGMENT_SUFFIX}"


def _sequence(name: str) -> int:
    return int(name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)])


def _split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


class Spool:
    def __init__(self, directory: Path | str, segment_max_events: int = 10_000) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_max_events = segment_max_events
        self._lock_fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolLockedError(f"spool {self.directory} is in use by another process") from None
        self._segments: list[str] = sorted(
            p.name
            for p in self.directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}")
            if p.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)].isdigit()
        )
        self._line_counts: dict[str, int] = {
            name: len(_split_lines((self.directory / name).read_bytes())) for name in self._segments
        }
        self._cursor = self._load_cursor()
        self._head_lines: list[bytes] | None = None
        self._tail_name: str | None = None
        self._tail_fd: int | None = None
        self._dirty = False
        self._new_segment = False
        self.skipped_lines = 0
        self.size = sum(self._line_counts.values()) - self._cursor
        # A fully consumed head (a crash between commit and delete) is removed at once.
        self._drop_consumed_head()

    # -- state ---------------------------------------------------------------------------------

    def _load_cursor(self) -> int:
        if not self._segments:
            return 0
        try:
            data = json.loads((self.directory / CURSOR_FILE).read_text())
        except (OSError, ValueError):
            return 0
        if not isinstance(data, dict) or data.get("segment") != self._segments[0]:
            return 0
        line = data.get("line")
        if not isinstance(line, int) or line < 0:
            return 0
        return min(line, self._line_counts[self._segments[0]])

    def _save_cursor(self) -> None:
        path = self.directory / CURSOR_FILE
        tmp = path.with_suffix(".tmp")
        segment = self._segments[0] if self._segments else None
        tmp.write_text(json.dumps({"segment": segment, "line": self._cursor}))
        os.replace(tmp, path)

    def _drop_consumed_head(self) -> None:
        while (
            self._segments
            and self._segments[0] != self._tail_name
            and self._cursor >= self._line_counts[self._segments[0]]
        ):
            name = self._segments.pop(0)
            del self._line_counts[name]
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
            self._cursor = 0
            self._head_lines = None
            self._save_cursor()

    # -- writing -------------------------------------------------------------------------------

    def _close_tail(self) -> None:
        if self._tail_fd is not None:
            if self._dirty:
                os.fsync(self._tail_fd)
                self._dirty = False
            os.close(self._tail_fd)
        self._tail_fd = None
        self._tail_name = None

    def _open_tail(self) -> None:
        sequence = _sequence(self._segments[-1]) + 1 if self._segments else 1
        name = _segment_name(sequence)
        self._tail_fd = os.open(
            self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o644
        )
        self._tail_name = name
        self._segments.append(name)
        self._line_counts[name] = 0
        self._new_segment = True

    def append(self, events: Sequence[str]) -> None:
        """Append events, each a JSON object on one line (raises OSError when the disk fails:
        the caller counts the loss)."""
        remaining = list(events)
        while remaining:
            if (
                self._tail_name is None
                or self._line_counts[self._tail_name] >= self._segment_max_events
            ):
                self._close_tail()
                self._open_tail()
            assert self._tail_fd is not None and self._tail_name is not None
            room = self._segment_max_events - self._line_counts[self._tail_name]
            chunk, remaining = remaining[:room], remaining[room:]
            data = "".join(event + "\n" for event in chunk).encode()
            view = memoryview(data)
            while view:
                written = os.write(self._tail_fd, view)
                view = view[written:]
            self._line_counts[self._tail_name] += len(chunk)
            self.size += len(chunk)
            self._dirty = True

    def sync(self) -> None:
        """fsync what was appended since the last call (and the directory for new segments)."""
        if self._tail_fd is not None and self._dirty:
            os.fsync(self._tail_fd)
            self._dirty = False
        if self._new_segment:
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            self._new_segment = False

    # -- replay --------------------------------------------------------------------------------

    def peek(self, max_events: int) -> SpoolBatch | None:
        """The oldest unconfirmed events (up to ``max_events``), or ``None`` when empty."""
        self._drop_consumed_head()
        if not self._segments or self.size == 0:
            return None
        head = self._segments[0]
        if head == self._tail_name:
            self._close_tail()  # replay reached the open segment: it is immutable from now on
        if self._head_lines is None:
            self._head_lines = _split_lines((self.directory / head).read_bytes())
        start = self._cursor
        end = min(start + max_events, len(self._head_lines))
        events: list[str] = []
        for line in self._head_lines[start:end]:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict):
                events.append(line.decode())
            else:
                self.skipped_lines += 1
                log.error("skipping unreadable spool line", extra={"segment": head})
        return SpoolBatch(head, start, end, events)

    def commit(self, batch: SpoolBatch) -> None:
        """The batch was confirmed: advance past it (deleting the segment once done)."""
        if not self._segments or self._segments[0] != batch.segment or self._cursor != batch.start:
            raise ValueError("commit out of order")
        self._cursor = batch.end
        self.size -= batch.end - batch.start
        if self._cursor >= self._line_counts[batch.segment]:
            self._drop_consumed_head()
        else:
            self._save_cursor()

    def close(self) -> None:
        self._close_tail()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
