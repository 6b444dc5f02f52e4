"""Running an import: its lines become codes, a chunk at a time, through the batch's own
prepare-then-store path (validation, logo, fitting, quota-checked insert). An import returns
no image, so render only plans its codes (``plan_only``: the version, level and warnings the
row keeps, decided as drawing would decide them); each image is drawn and verified when it
is asked for, as every stored code's is.

A chunk is one transaction: claim up to :data:`CHUNK_ROWS` lines without an outcome
(``FOR UPDATE SKIP LOCKED``), prepare their codes, insert each in its savepoint, record every
line's outcome and the job's counters, commit. A worker killed anywhere in it loses the whole
chunk -- codes, outcomes and counters together -- and whoever runs the job next does those
lines again: every line creates its code exactly once. Several chunks of a job run at once
(:data:`CHUNKS_IN_FLIGHT`) so the renders of one overlap the inserts of another, and a chunk
has :data:`RENDERS_IN_FLIGHT` renders out at once, enough for full coalesced render batches
(a planned code costs render less than its gRPC call). For an account under no code limit,
a chunk's codes without logos, static and dynamic, are inserted by one statement (the grouped
insert single creates use): a savepoint and three round trips per code were half the chunk's
time.

A line that fails for a reason of its own (bad URL, quota reached) records that reason. One
that fails because a backing service did (5xx: render away) records nothing and is tried
again after a pause; a job that makes no progress for :data:`MAX_IDLE_ATTEMPTS` pauses in a
row is marked ``failed``, as is one whose chunks keep raising.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

import asyncpg
import msgspec

from services.gateway.account.principal import Principal
from services.gateway.backends.render import BATCH_MAX_ITEMS, BATCHES_IN_FLIGHT
from services.gateway.batch.creation import PreparedItem, prepare_items
from services.gateway.imports import storage
from services.gateway.imports.storage import ImportJob, PendingRow, RowOutcome
from services.gateway.metrics import import_lines_total
from services.gateway.qrcodes.prepared import DrawingTools, store_prepared
from services.gateway.qrcodes.storage import insert_unlimited_qrs
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

CHUNK_ROWS: Final = 200
CHUNKS_IN_FLIGHT: Final = 3
# Two coalesced batches' worth (BATCH_MAX_ITEMS, BATCHES_IN_FLIGHT): the render service still
# queues them for the account, in its fair share of the workers.
RENDERS_IN_FLIGHT: Final = BATCH_MAX_ITEMS * BATCHES_IN_FLIGHT
MAX_IDLE_ATTEMPTS: Final = 8
FIRST_PAUSE_S: Final = 0.5
MAX_PAUSE_S: Final = 30.0


def job_principal(job: ImportJob) -> Principal:
    """Who the job creates codes as: the uploader's account, under the plan limit it had."""
    return Principal(
        account_id=job.account_id, plan="", api_access=True, rate_limit_per_min=0,
        max_codes=job.max_codes, key_id=job.api_key_id, permissions=frozenset({"write"}),
        expires_at=None, key_rate_limit_per_min=None,
    )  # fmt: skip


def _failure(line: int, error: ApiError) -> RowOutcome:
    return RowOutcome(line, error_code=error.code, reason=error.message)


class ImportRunner:
    def __init__(self, pool: Any, tools: DrawingTools) -> None:
        self._pool = pool
        self._tools = tools

    async def run(self, import_id: str) -> None:
        """Work the job until every line has an outcome (or it fails); a no-op for a job
        that is finished or unknown."""
        job = await storage.get_import(self._pool, None, import_id)
        if job is None or job.status in ("done", "failed"):
            return
        await storage.mark_running(self._pool, import_id)
        principal = job_principal(job)
        try:
            await asyncio.gather(*(self._work(job, principal) for _ in range(CHUNKS_IN_FLIGHT)))
        except JobStalledError as stalled:
            log.warning("import failed", extra={"import_id": import_id, "error": str(stalled)})
            await storage.mark_failed(self._pool, import_id, str(stalled))
            return
        await storage.mark_done_if_complete(self._pool, import_id)

    async def _work(self, job: ImportJob, principal: Principal) -> None:
        pause, idle = FIRST_PAUSE_S, 0
        while True:
            try:
                claimed, retry_later = await self._chunk(job, principal)
            except Exception as error:  # logged, retried, and the job fails if it persists
                log.exception("import chunk failed", extra={"import_id": job.import_id})
                claimed, retry_later = -1, f"{type(error).__name__}"
            if claimed == 0:
                return
            if retry_later is None:
                pause, idle = FIRST_PAUSE_S, 0
                continue
            idle += 1
            if idle >= MAX_IDLE_ATTEMPTS:
                raise JobStalledError(f"no progress: {retry_later}")
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_S)

    async def _chunk(self, job: ImportJob, principal: Principal) -> tuple[int, str | None]:
        """One chunk: (lines claimed, the reason to pause before the next one or None)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await storage.claim_chunk(conn, job.import_id, CHUNK_ROWS)
            if not rows:
                return 0, None
            bodies = [msgspec.json.decode(row.body.encode()) for row in rows]
            prepared = await prepare_items(
                self._tools, principal, bodies, concurrency=RENDERS_IN_FLIGHT
            )
            outcomes, retry_later = await self._store(conn, job, rows, prepared)
            await storage.record_outcomes(conn, job.import_id, outcomes)
        created = sum(1 for outcome in outcomes if outcome.qr_id is not None)
        import_lines_total.labels("created").inc(created)
        import_lines_total.labels("failed").inc(len(outcomes) - created)
        return len(rows), retry_later

    async def _store(
        self,
        conn: Any,
        job: ImportJob,
        rows: Sequence[PendingRow],
        prepared: Sequence[PreparedItem | ApiError],
    ) -> tuple[list[RowOutcome], str | None]:
        outcomes = await self._store_grouped(conn, job, rows, prepared)
        retry_later: str | None = None
        for row, item in zip(rows, prepared, strict=True):
            if row.line in outcomes:
                continue
            error = item if isinstance(item, ApiError) else None
            if not isinstance(item, ApiError):
                try:
                    record, _ = await store_prepared(conn, item[0], max_codes=job.max_codes)
                except ApiError as raised:
                    error = raised
                else:
                    outcomes[row.line] = RowOutcome(row.line, qr_id=record.qr_id)
                    continue
            assert error is not None
            if error.status >= 500:  # not the line's fault: leave it for later
                retry_later = error.code
                continue
            outcomes[row.line] = _failure(row.line, error)
        return list(outcomes.values()), retry_later

    async def _store_grouped(
        self,
        conn: Any,
        job: ImportJob,
        rows: Sequence[PendingRow],
        prepared: Sequence[PreparedItem | ApiError],
    ) -> dict[int, RowOutcome]:
        """The chunk's codes without logos, for an account under no code limit, in one
        statement (as concurrent single creates are grouped): no quota to check one by one.
        If the statement fails (a generated short code or a slug already taken: rare) they
        are stored one by one, where a clashing code is drawn again or refused."""
        if job.max_codes > 0:
            return {}
        group = [
            (row.line, item[0].record)
            for row, item in zip(rows, prepared, strict=True)
            if not isinstance(item, ApiError) and not item[0].logo
        ]
        if not group:
            return {}
        try:
            async with conn.transaction():  # a savepoint: a failure leaves the chunk usable
                stored = await insert_unlimited_qrs(conn, [record for _, record in group])
        except asyncpg.PostgresError:
            log.warning("a group of imported codes failed to store; storing them one by one")
            return {}
        return {
            line: RowOutcome(line, qr_id=qr_id)
            for (line, _), qr_id in zip(group, stored, strict=True)
        }


class JobStalledError(Exception):
    pass
