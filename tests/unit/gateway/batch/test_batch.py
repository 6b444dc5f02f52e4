"""Batch orchestration: item parsing, ordering of inserts, per-item errors, concurrency."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.batch import creation
from services.gateway.batch.creation import (
    MAX_ITEMS,
    ItemResult,
    _BatchTransaction,
    batch_failure,
    item_kind,
    parse_items,
    prepare_items,
    summary,
)
from services.runtime.errors import ApiError


def error_of(body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_items(body)
    return info.value


def test_items_must_be_a_list_of_at_most_100() -> None:
    assert parse_items({"items": []}) == []
    assert len(parse_items({"items": [{}] * MAX_ITEMS})) == MAX_ITEMS
    for body in ({}, {"items": None}, {"items": {"a": 1}}, {"items": "x"}):
        err = error_of(body)
        assert (err.code, err.field) == ("INVALID_PARAMETER", "items")
    too_many = error_of({"items": [{}] * (MAX_ITEMS + 1)})
    assert too_many.code == "BATCH_TOO_LARGE" and too_many.status == 400
    assert too_many.details == {"limit": 100, "count": 101}


def test_item_kind_defaults_to_static() -> None:
    assert item_kind(0, {"type": "url"}) == ("static", {"type": "url"})
    assert item_kind(0, {"kind": None})[0] == "static"
    assert item_kind(0, {"kind": "dynamic"})[0] == "dynamic"
    with pytest.raises(ApiError) as info:
        item_kind(3, ["not", "an", "object"])
    assert info.value.field == "items[3]"
    with pytest.raises(ApiError) as info:
        item_kind(0, {"kind": "animated"})
    assert (info.value.code, info.value.field) == ("INVALID_PARAMETER", "kind")


def test_summary_shapes_results_and_counts() -> None:
    results = [
        ItemResult(0, data={"qr_id": "qr_a"}),
        ItemResult(1, error=ApiError("INVALID_CONTENT", "bad url", field="content")),
        ItemResult(2, error=ApiError("QUOTA_EXCEEDED", "full")),
    ]
    assert summary(results) == {
        "results": [
            {"index": 0, "success": True, "data": {"qr_id": "qr_a"}},
            {
                "index": 1,
                "success": False,
                "error": {
                    "code": "INVALID_CONTENT",
                    "message": "bad url",
                    "details": {"field": "content"},
                },
            },
            {"index": 2, "success": False, "error": {"code": "QUOTA_EXCEEDED", "message": "full"}},
        ],
        "succeeded": 1,
        "failed": 2,
    }


def test_whole_batch_fails_only_when_nothing_succeeded_and_a_backend_failed() -> None:
    down = ApiError("SERVICE_UNAVAILABLE", "render down")
    invalid = ApiError("INVALID_TYPE", "nope")
    assert batch_failure([]) is None
    assert batch_failure([ItemResult(0, error=invalid), ItemResult(1, error=down)]) is down
    assert batch_failure([ItemResult(0, error=invalid)]) is None
    assert batch_failure([ItemResult(0, data={}), ItemResult(1, error=down)]) is None


async def test_items_prepare_concurrently_and_come_back_in_request_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(7)
    delays = [rng.uniform(0, 0.01) for _ in range(60)]
    in_flight = peak = 0

    async def prepare(ctx: Any, principal: Any, body: dict[str, Any]) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(delays[body["i"]])  # "render": finishes in any order
            if body["i"] % 7 == 3:
                raise ApiError("INVALID_CONTENT", f"item {body['i']} is bad", field="content")
            return f"code {body['i']}"
        finally:
            in_flight -= 1

    monkeypatch.setattr(creation, "PREPARERS", {"static": prepare})
    items = [{"i": i} for i in range(60)]
    outcomes = await prepare_items(None, None, items, concurrency=5)  # type: ignore[arg-type]
    for i, outcome in enumerate(outcomes):
        if i % 7 == 3:
            assert isinstance(outcome, ApiError) and outcome.field == "content"
        else:
            assert not isinstance(outcome, ApiError)
            prepared, body = outcome
            assert str(prepared) == f"code {i}"  # the fake preparer's stand-in for a code
            assert body == {"i": i}
    assert peak == 5


async def test_unexpected_exceptions_become_internal_errors_for_that_item_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def prepare(ctx: Any, principal: Any, body: dict[str, Any]) -> str:
        if body["i"] == 1:
            raise RuntimeError("bug")
        return "ok"

    monkeypatch.setattr(creation, "PREPARERS", {"static": prepare})
    outcomes = await prepare_items(None, None, [{"i": 0}, {"i": 1}, {"i": 2}])  # type: ignore[arg-type]
    assert [o.code if isinstance(o, ApiError) else o[0] for o in outcomes] == [
        "ok",
        "INTERNAL_ERROR",
        "ok",
    ]


async def test_empty_batch_touches_nothing() -> None:
    pool = _FakePool()
    principal = SimpleNamespace(max_codes=0)
    data = await creation.create_batch(None, pool, None, principal, [])  # type: ignore[arg-type]
    assert data == {"results": [], "succeeded": 0, "failed": 0}
    assert pool.log == []


async def test_quota_in_the_middle_fails_exactly_the_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    stored: list[str] = []
    limit = 4

    async def prepare(ctx: Any, principal: Any, body: dict[str, Any]) -> str:
        await asyncio.sleep(0.001 * ((body["i"] * 5) % 3))
        if body["what"] == "invalid":
            raise ApiError("INVALID_TYPE", "nope")
        return str(body["i"])

    async def store(conn: Any, prepared: str, *, max_codes: int) -> tuple[str, None]:
        if len(stored) >= limit:
            raise ApiError("QUOTA_EXCEEDED", "full")
        stored.append(prepared)
        return prepared, None

    monkeypatch.setattr(creation, "PREPARERS", {"static": prepare})
    monkeypatch.setattr(creation, "store_prepared", store)
    monkeypatch.setattr(creation, "item_json", lambda record, *_: {"name": record})
    kinds = ["ok", "invalid", "ok", "ok", "ok", "ok", "invalid", "ok"]
    items = [{"i": i, "what": what} for i, what in enumerate(kinds)]
    principal = SimpleNamespace(max_codes=limit)
    data = await creation.create_batch(None, _FakePool(), None, principal, items)  # type: ignore[arg-type]
    codes = [r["error"]["code"] if not r["success"] else "ok" for r in data["results"]]
    assert codes == [
        "ok",
        "INVALID_TYPE",
        "ok",
        "ok",
        "ok",
        "QUOTA_EXCEEDED",
        "INVALID_TYPE",
        "QUOTA_EXCEEDED",
    ]
    assert stored == ["0", "2", "3", "4"]


class _FakeTransaction:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def start(self) -> None:
        self.log.append("begin")

    async def commit(self) -> None:
        self.log.append("commit")

    async def rollback(self) -> None:
        self.log.append("rollback")


class _FakeConnection:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def transaction(self) -> _FakeTransaction:
        return _FakeTransaction(self.log)


class _FakePool:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def acquire(self) -> _FakeConnection:
        self.log.append("acquire")
        return _FakeConnection(self.log)

    async def release(self, conn: _FakeConnection) -> None:
        self.log.append("release")

    async def fetchval(self, query: str) -> str:
        return f"ran {query}"


async def test_items_share_one_connection_and_transaction_in_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = _FakePool()
    first_rendered = asyncio.Event()
    stored_on: list[tuple[str, Any]] = []

    async def prepare(ctx: Any, principal: Any, body: dict[str, Any]) -> str:
        if body["name"] == "first":
            await first_rendered.wait()  # the first item renders slowly
        return str(body["name"])

    async def store(conn: Any, prepared: str, *, max_codes: int) -> tuple[str, None]:
        stored_on.append((prepared, conn))
        return prepared, None

    monkeypatch.setattr(creation, "PREPARERS", {"static": prepare})
    monkeypatch.setattr(creation, "store_prepared", store)
    monkeypatch.setattr(creation, "item_json", lambda record, *_: {"name": record})
    principal = SimpleNamespace(max_codes=0)
    batch = asyncio.create_task(
        creation.create_batch(None, pool, None, principal, [{"name": "first"}, {"name": "second"}])  # type: ignore[arg-type]
    )
    for _ in range(20):  # let the second item finish preparing: nothing is stored before all are
        await asyncio.sleep(0)
    assert stored_on == [] and pool.log == []  # no connection, so no lock, while items render
    first_rendered.set()
    data = await batch
    assert [name for name, _ in stored_on] == ["first", "second"]
    assert stored_on[0][1] is stored_on[1][1]  # one connection
    assert pool.log == ["acquire", "begin", "commit", "release"]  # one transaction
    assert [result["data"]["name"] for result in data["results"]] == ["first", "second"]


async def test_a_batch_that_inserted_nothing_touches_no_connection() -> None:
    pool = _FakePool()
    await _BatchTransaction(pool).close(commit=True)
    assert pool.log == []


async def test_rollback_still_releases() -> None:
    pool = _FakePool()
    batch = _BatchTransaction(pool)
    await batch.connection()
    await batch.close(commit=False)
    assert pool.log == ["acquire", "begin", "rollback", "release"]
