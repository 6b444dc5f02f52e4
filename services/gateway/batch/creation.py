"""Creating up to 100 codes in one request: each item on its own, in parallel, in order.

Every item is a static generate body, or a dynamic body with ``"kind": "dynamic"``, and goes
through exactly the code path of its single-item route (validation, logo, render with
verification, quota-checked insert). An item that fails gets its own error; the others are
unaffected.

Preparing, then storing: every item is first prepared (validated, rendered) on its own, a few
at a time, with no catalog write. Only when every item is prepared are they stored, in request
order, on one connection in one transaction, each item's ``insert_qr`` in its own savepoint
(asyncpg nests ``conn.transaction()``). So a batch costs one commit instead of a hundred -- the
commit's WAL flush dominates an insert -- and the codes appear together: a batch that dies half
way (gateway killed, commit failed) stored nothing and is safe to retry. An item that fails in
its insert (``QUOTA_EXCEEDED``, a short-code clash the dynamic path retries) only rolls back its
savepoint, its count included.

Why all renders come first: an account under a quota counts its codes on one counter row,
which stays locked from the batch's first insert to its commit. Holding it while later items
still rendered (seconds, for a heavy batch) held back every other create of the account, each
on a pool connection of its own, and with them every other tenant's requests that needed one.
Now the lock lasts the inserts alone. Storing in request order keeps the quota deterministic:
with room for N more codes, the first N valid items are stored and every later one gets
``QUOTA_EXCEEDED`` -- a client can resubmit exactly the tail.

A batch that stored nothing because a backing service failed (every item failed, at least one
with a 5xx) answers with that error instead of a 200, so it is retried -- and, under an
``Idempotency-Key``, not stored -- like the single call would be. Once anything was created the
answer is a 200 with per-item results.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.gateway.account.principal import Principal
from services.gateway.backends.render import Rendered
from services.gateway.http.image_responses import with_inline_image
from services.gateway.qrcodes.dynamic_codes import prepare_dynamic_code
from services.gateway.qrcodes.prepared import DrawingTools, PreparedCode, store_prepared
from services.gateway.qrcodes.records import StoredQR, qr_json
from services.gateway.qrcodes.static_codes import prepare_static_code
from services.gateway.settings import GatewaySettings
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

MAX_ITEMS: Final = 100
# Items in flight per batch: a few per render worker (the render service runs one per core by
# default), enough to keep every worker busy while others wait on gRPC or Postgres.
CONCURRENCY: Final = 4 * (os.cpu_count() or 1)

Preparer = Callable[[DrawingTools, Principal, dict[str, Any]], Awaitable[PreparedCode]]

PREPARERS: Final[Mapping[str, Preparer]] = {
    "static": prepare_static_code,
    "dynamic": prepare_dynamic_code,
}


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int
    data: dict[str, Any] | None = None
    error: ApiError | None = None
    rendered: Rendered | None = None  # the stored code's image (a ZIP answer writes it)
    record: StoredQR | None = None  # the stored code (its code.created event is published)

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"index": self.index, "success": False, "error": self.error.to_body()["error"]}
        return {"index": self.index, "success": True, "data": self.data}


def parse_items(body: Mapping[str, Any]) -> list[Any]:
    """The ``items`` list: INVALID_PARAMETER unless a list, BATCH_TOO_LARGE over 100. An empty
    list is a valid (empty) batch."""
    items = body.get("items")
    if not isinstance(items, list):
        raise ApiError("INVALID_PARAMETER", "items must be a list of code bodies", field="items")
    if len(items) > MAX_ITEMS:
        raise ApiError(
            "BATCH_TOO_LARGE",
            f"A batch holds at most {MAX_ITEMS} items; this one has {len(items)}",
            details={"limit": MAX_ITEMS, "count": len(items)},
        )
    return items


def item_kind(index: int, item: object) -> tuple[str, dict[str, Any]]:
    """The item's kind (``static`` unless it says ``dynamic``) and its body."""
    if not isinstance(item, dict):
        raise ApiError(
            "INVALID_PARAMETER", "each item must be a JSON object", field=f"items[{index}]"
        )
    kind = item.get("kind")
    if kind is None:
        kind = "static"
    if not isinstance(kind, str) or kind not in PREPARERS:
        raise ApiError("INVALID_PARAMETER", "kind must be static or dynamic", field="kind")
    return kind, item


def item_json(
    record: StoredQR, rendered: Rendered, body: Mapping[str, Any], settings: GatewaySettings
) -> dict[str, Any]:
    """What the item's single-item route would have returned as ``data``."""
    return with_inline_image(qr_json(record, settings, total_scans=0), body, rendered)


def summary(results: Sequence[ItemResult]) -> dict[str, Any]:
    failed = sum(1 for result in results if result.error is not None)
    return {
        "results": [result.to_json() for result in results],
        "succeeded": len(results) - failed,
        "failed": failed,
    }


def batch_failure(results: Sequence[ItemResult]) -> ApiError | None:
    """The error to answer instead of 200: the first 5xx, when nothing at all succeeded."""
    if not results or any(result.error is None for result in results):
        return None
    return next((r.error for r in results if r.error is not None and r.error.status >= 500), None)


class _BatchTransaction:
    """The batch's one connection and transaction, opened by the first insert."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._conn: Any = None
        self._transaction: Any = None

    async def connection(self) -> Any:
        if self._conn is None:
            conn = await self._pool.acquire()
            try:
                transaction = conn.transaction()
                await transaction.start()
            except BaseException:
                await self._pool.release(conn)
                raise
            self._conn, self._transaction = conn, transaction
        return self._conn

    async def close(self, *, commit: bool) -> None:
        """Commit (or roll back) what the items inserted and give the connection back."""
        if self._conn is None:
            return
        conn, transaction = self._conn, self._transaction
        self._conn = self._transaction = None
        try:
            if commit:
                await transaction.commit()
            else:
                await transaction.rollback()
        finally:
            await self._pool.release(conn)


PreparedItem = tuple[PreparedCode, dict[str, Any]]


async def prepare_items(
    tools: DrawingTools,
    principal: Principal,
    items: Sequence[object],
    concurrency: int = CONCURRENCY,
) -> list[PreparedItem | ApiError]:
    """Every item prepared (with its body) or the error that stopped it, in request order, at
    most ``concurrency`` at a time. An unexpected exception (logged) is that item's
    INTERNAL_ERROR, never the batch's."""
    slots = asyncio.Semaphore(concurrency)

    async def prepare(index: int, item: object) -> PreparedItem | ApiError:
        async with slots:
            try:
                kind, body = item_kind(index, item)
                return await PREPARERS[kind](tools, principal, body), body
            except ApiError as err:
                return err
            except Exception:
                log.exception("batch item failed", extra={"index": index})
                return ApiError("INTERNAL_ERROR", "Internal error")

    return list(await asyncio.gather(*(prepare(i, item) for i, item in enumerate(items))))


async def _store_item(
    batch: _BatchTransaction,
    index: int,
    outcome: PreparedItem | ApiError,
    principal: Principal,
    settings: GatewaySettings,
) -> ItemResult:
    if isinstance(outcome, ApiError):
        return ItemResult(index, error=outcome)
    prepared, body = outcome
    try:
        record, rendered = await store_prepared(
            await batch.connection(), prepared, max_codes=principal.max_codes
        )
    except ApiError as err:
        return ItemResult(index, error=err)
    except Exception:
        log.exception("batch item failed", extra={"index": index})
        return ItemResult(index, error=ApiError("INTERNAL_ERROR", "Internal error"))
    return ItemResult(
        index, data=item_json(record, rendered, body, settings), rendered=rendered, record=record
    )


async def create_batch(
    tools: DrawingTools,
    pool: Any,
    settings: GatewaySettings,
    principal: Principal,
    items: Sequence[object],
) -> dict[str, Any]:
    """Create every item, stored on one connection of ``pool``; the ``data`` of the batch
    response (see the module docstring)."""
    return summary(await create_batch_items(tools, pool, settings, principal, items))


async def create_batch_items(
    tools: DrawingTools,
    pool: Any,
    settings: GatewaySettings,
    principal: Principal,
    items: Sequence[object],
) -> list[ItemResult]:
    """:func:`create_batch`'s work: each item's result, images included, in request order."""

    prepared = await prepare_items(tools, principal, items)
    batch = _BatchTransaction(pool)
    committed = False
    try:
        results = [
            await _store_item(batch, index, outcome, principal, settings)
            for index, outcome in enumerate(prepared)
        ]
        failure = batch_failure(results)
        if failure is not None:
            raise failure
        await batch.close(commit=True)
        committed = True
    finally:
        if not committed:
            await batch.close(commit=False)
    return results
