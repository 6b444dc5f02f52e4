"""Creating up to 100 codes in one request: each item on its own, in parallel, in order.

Every item is a static generate body, or a dynamic body with ``"kind": "dynamic"``, and goes
through exactly the code path of its single-item route (validation, logo, render with
verification, quota-checked insert). An item that fails gets its own error; the others are
unaffected.

Storing: each item is prepared (validated, rendered) on its own, with no catalog write, then
stored on the batch's one connection, in one transaction, each item's ``insert_qr`` in its own
savepoint (asyncpg nests ``conn.transaction()``). So a batch costs one commit instead of a
hundred -- the commit's WAL flush dominates an insert -- and the codes appear together: a
batch that dies half way (gateway killed, commit failed) stored nothing and is safe to retry. An item that fails in its insert (``QUOTA_EXCEEDED``, a short-code clash the
dynamic path retries) only rolls back its savepoint, its count included. The quota check sees
the batch's own earlier inserts, and the account's code counter stays locked until the commit,
so concurrent creates of the account wait for the batch and see what it stored.

Ordering: items are taken by a few workers in request order and render in parallel, but each
item's insert waits until every earlier item is finished (its ``turn``). The shared
connection serialises inserts anyway, so this costs nothing, and it makes the quota
deterministic: with room for N more codes, the first N valid items are stored and every later
one gets ``QUOTA_EXCEEDED`` -- a client can resubmit exactly the tail. Workers take indices in
increasing order, so the item an insert waits for is always running or done: no deadlock.

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

from services.gateway.account.auth import Principal
from services.gateway.backends.render import Rendered
from services.gateway.context import GatewayContext
from services.gateway.http.image_responses import with_inline_image
from services.gateway.qrcodes.dynamic_codes import prepare_dynamic_code
from services.gateway.qrcodes.prepared import PreparedCode, store_prepared
from services.gateway.qrcodes.records import StoredQR, qr_json
from services.gateway.qrcodes.static_codes import prepare_static_code
from services.gateway.settings import GatewaySettings
from services.runtime.errors import ApiError

log = logging.getLogger(__name__)

MAX_ITEMS: Final = 100
# Items in flight per batch: a few per render worker (the render service runs one per core by
# default), enough to keep every worker busy while others wait on gRPC or Postgres.
CONCURRENCY: Final = 4 * (os.cpu_count() or 1)

Preparer = Callable[[GatewayContext, Principal, dict[str, Any]], Awaitable[PreparedCode]]

PREPARERS: Final[Mapping[str, Preparer]] = {
    "static": prepare_static_code,
    "dynamic": prepare_dynamic_code,
}


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int
    data: dict[str, Any] | None = None
    error: ApiError | None = None

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


ItemRunner = Callable[[int, object, asyncio.Event], Awaitable[dict[str, Any]]]


async def run_in_order(
    items: Sequence[object], run_item: ItemRunner, concurrency: int = CONCURRENCY
) -> list[ItemResult]:
    """Run ``run_item(index, item, turn)`` for every item, at most ``concurrency`` in flight.

    ``turn`` is set once *every* earlier item has finished (not just the one before: an item
    that fails fast must not let a later one overtake a slow earlier one). Results come back in
    request order; an :class:`ApiError` (or any other exception, logged) becomes that item's
    error."""
    turns = [asyncio.Event() for _ in items]
    finished = [False] * len(items)
    first_unfinished = 0
    if turns:
        turns[0].set()
    results: list[ItemResult | None] = [None] * len(items)
    indices = iter(range(len(items)))

    def finish(index: int) -> None:
        nonlocal first_unfinished
        finished[index] = True
        while first_unfinished < len(items) and finished[first_unfinished]:
            first_unfinished += 1
        if first_unfinished < len(items):
            turns[first_unfinished].set()

    async def one(index: int) -> ItemResult:
        try:
            return ItemResult(index, data=await run_item(index, items[index], turns[index]))
        except ApiError as err:
            return ItemResult(index, error=err)
        except Exception:
            log.exception("batch item failed", extra={"index": index})
            return ItemResult(index, error=ApiError("INTERNAL_ERROR", "Internal error"))
        finally:
            finish(index)

    async def worker() -> None:
        for index in indices:  # shared iterator: indices are handed out in increasing order
            results[index] = await one(index)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(items))))))
    return [result for result in results if result is not None]


async def create_batch(
    ctx: GatewayContext, principal: Principal, items: Sequence[object]
) -> dict[str, Any]:
    """Create every item; the ``data`` of the batch response (see the module docstring)."""

    batch = _BatchTransaction(ctx.pool)

    async def run_item(index: int, item: object, turn: asyncio.Event) -> dict[str, Any]:
        kind, body = item_kind(index, item)
        prepared = await PREPARERS[kind](ctx, principal, body)
        await turn.wait()  # stored in request order: see the module docstring
        record, rendered = await store_prepared(
            await batch.connection(), prepared, max_codes=principal.max_codes
        )
        return item_json(record, rendered, body, ctx.settings)

    committed = False
    try:
        results = await run_in_order(items, run_item)
        failure = batch_failure(results)
        if failure is not None:
            raise failure
        await batch.close(commit=True)
        committed = True
    finally:
        if not committed:
            await batch.close(commit=False)
    return summary(results)
