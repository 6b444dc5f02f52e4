"""The import runner's decisions on plain values: what a chunk records, and when a job that
cannot progress is given up. Storage and the batch path are replaced by in-memory fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from services.gateway.imports import jobs, storage
from services.gateway.imports.storage import ImportJob, PendingRow, RowOutcome
from services.runtime.errors import ApiError

NOW = datetime(2026, 3, 12, tzinfo=UTC)


class FakeConnection:
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


class FakePool:
    def __init__(self) -> None:
        self.conn = FakeConnection()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.conn


class FakeJobStore:
    """The job's lines; a line with an outcome is never claimed again."""

    def __init__(self, lines: int) -> None:
        self.pending = {line: '{"type": "text", "content": "x"}' for line in range(1, lines + 1)}
        self.outcomes: list[RowOutcome] = []
        self.status = "queued"

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def get_import(pool: Any, account_id: str | None, import_id: str) -> ImportJob:
            return ImportJob(import_id, "acc", "key", "qrforge", self.status, len(self.pending),
                             0, 0, 0, 0, [], b"", None, NOW, NOW)  # fmt: skip

        async def claim_chunk(conn: Any, import_id: str, limit: int) -> list[PendingRow]:
            return [PendingRow(line, body) for line, body in sorted(self.pending.items())[:limit]]

        async def record_outcomes(
            conn: Any, import_id: str, outcomes: Sequence[RowOutcome]
        ) -> None:
            for outcome in outcomes:
                self.pending.pop(outcome.line)
                self.outcomes.append(outcome)

        async def set_status(pool: Any, import_id: str, *rest: Any) -> bool:
            self.status = "failed" if rest else ("done" if not self.pending else "running")
            return True

        monkeypatch.setattr(storage, "get_import", get_import)
        monkeypatch.setattr(storage, "claim_chunk", claim_chunk)
        monkeypatch.setattr(storage, "record_outcomes", record_outcomes)
        monkeypatch.setattr(storage, "mark_running", set_status)
        monkeypatch.setattr(storage, "mark_done_if_complete", set_status)
        monkeypatch.setattr(storage, "mark_failed", set_status)


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    async def sleep(_: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", sleep)


async def test_lines_failing_for_their_own_reason_are_recorded_and_the_job_ends_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FakeJobStore(5)
    store.install(monkeypatch)

    async def prepare_items(
        tools: Any, principal: Any, items: Sequence[object], **_: Any
    ) -> list[Any]:
        return [ApiError("INVALID_CONTENT", "bad") for _ in items]

    monkeypatch.setattr(jobs, "prepare_items", prepare_items)
    await jobs.ImportRunner(FakePool(), tools=None).run("imp_1")  # type: ignore[arg-type]
    assert store.status == "done"
    assert sorted(o.line for o in store.outcomes) == [1, 2, 3, 4, 5]
    assert {o.error_code for o in store.outcomes} == {"INVALID_CONTENT"}


async def test_a_backing_service_failure_records_nothing_and_a_job_that_never_progresses_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FakeJobStore(3)
    store.install(monkeypatch)
    calls = 0

    async def prepare_items(
        tools: Any, principal: Any, items: Sequence[object], **_: Any
    ) -> list[Any]:
        nonlocal calls
        calls += 1
        return [ApiError("SERVICE_UNAVAILABLE", "render away") for _ in items]

    monkeypatch.setattr(jobs, "prepare_items", prepare_items)
    await jobs.ImportRunner(FakePool(), tools=None).run("imp_1")  # type: ignore[arg-type]
    assert store.outcomes == []  # the lines stay for a later run
    assert store.status == "failed"
    assert calls >= jobs.MAX_IDLE_ATTEMPTS
