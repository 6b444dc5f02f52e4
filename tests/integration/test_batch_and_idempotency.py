"""Batch creation, Idempotency-Key and account usage end to end (all services as processes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from services.gateway.idempotency import storage
from services.gateway.idempotency.policy import key_hash
from services.runtime.postgres import open_pool
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.processes import free_port
from tests.support.stack import Stack


async def _stored_ids(owner: ApiClient) -> list[str]:
    listed = (await owner.list_codes(limit="100")).envelope
    assert listed["pagination"]["total"] == len(listed["data"])
    return [code["qr_id"] for code in listed["data"]]


# --- batch ---------------------------------------------------------------------------------


async def test_batch_of_100_valid_items_stores_100_decodable_codes(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("batch-100"))
    items: list[dict[str, Any]] = []
    expected: list[str] = []
    for i in range(100):
        if i % 2 == 0:
            items.append({"type": "url", "content": f"https://example.com/batch/{i}"})
            expected.append(f"https://example.com/batch/{i}")
        else:
            items.append({"type": "text", "content": f"batch item {i}", "size": 256})
            expected.append(f"batch item {i}")
    answer = await owner.batch(items)
    data = answer.data(200)
    assert answer.envelope["success"] is True
    assert (data["succeeded"], data["failed"]) == (100, 0)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(100))
    assert all(r["success"] is True for r in results)
    ids = [r["data"]["qr_id"] for r in results]
    assert len(set(ids)) == 100
    assert sorted(await _stored_ids(owner)) == sorted(ids)

    semaphore = asyncio.Semaphore(8)

    async def decoded(result: dict[str, Any]) -> str:
        async with semaphore:
            image = await owner.fetch(result["data"]["image_url"])
            assert image.status == 200, result["data"]["image_url"]
            return decode_single_qr(image.body)

    assert await asyncio.gather(*(decoded(r) for r in results)) == expected


async def test_invalid_items_in_the_middle_get_the_single_route_errors(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("batch-mixed"))
    good = {"type": "url", "content": "https://example.com/good"}
    invalid: dict[int, Any] = {
        1: {"type": "nope", "content": "x"},
        2: {"type": "url", "content": "ftp://example.com"},
        4: {"type": "url", "content": "https://e.com", "size": 99},
        5: {"type": "url", "content": "https://e.com", "design": {"fg_color": "red"}},
        6: {"type": "text", "content": "x" * 8000, "error_correction": "H"},
        7: {"content": "no type"},
    }
    items: list[Any] = [invalid.get(i, good) for i in range(10)]
    items[8] = "not an object"
    answer = await owner.batch(items)
    data = answer.data(200)
    assert answer.envelope["success"] is True
    assert (data["succeeded"], data["failed"]) == (3, 7)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(10))
    assert [r["success"] for r in results] == [i in (0, 3, 9) for i in range(10)]
    for index, body in invalid.items():
        single = await owner.generate(body)
        assert single.status in (400, 422)
        assert results[index]["error"] == single.envelope["error"], index
    assert [results[i]["error"]["code"] for i in sorted(invalid)] == [
        "INVALID_TYPE",
        "INVALID_CONTENT",
        "INVALID_PARAMETER",
        "INVALID_COLOR",
        "DATA_TOO_LONG",
        "INVALID_PARAMETER",
    ]
    assert results[8]["error"] == {
        "code": "INVALID_PARAMETER",
        "message": "each item must be a JSON object",
        "details": {"field": "items[8]"},
    }
    stored = await _stored_ids(owner)
    assert sorted(stored) == sorted(results[i]["data"]["qr_id"] for i in (0, 3, 9))


async def test_batch_size_and_shape_errors(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("batch-shape"))
    item = {"type": "text", "content": "x"}
    too_large = await owner.batch([item] * 101)
    assert too_large.status == 400 and too_large.error_code == "BATCH_TOO_LARGE"
    # Bodies whose "items" is missing or not a list: sent as they are, not through batch().
    for body in ({}, {"items": {"type": "text"}}, {"items": "x"}):
        answer = await owner.request("POST", "/v1/qrcodes/batch", json_body=body)
        assert answer.status == 400, body
        assert answer.error_code == "INVALID_PARAMETER"
        assert answer.envelope["error"]["details"]["field"] == "items"
    assert await _stored_ids(owner) == []
    empty = await owner.batch([])
    assert empty.data(200) == {"results": [], "succeeded": 0, "failed": 0}
    assert empty.envelope["success"] is True


async def test_quota_reached_in_the_middle_of_a_batch(stack: Stack, api: ApiClient) -> None:
    small = api.as_account(stack.create_account("batch-quota", max_codes=4))
    (await small.generate({"type": "text", "content": "first"})).data(200)
    items: list[dict[str, Any]] = [{"type": "text", "content": f"q{i}"} for i in range(8)]
    items[1] = {"type": "nope", "content": "x"}  # invalid items never use quota
    answer = await small.batch(items)
    data = answer.data(200)
    assert answer.envelope["success"] is True
    codes = [r["data"]["type"] if r["success"] else r["error"]["code"] for r in data["results"]]
    assert codes == ["text", "INVALID_TYPE", "text", "text"] + ["QUOTA_EXCEEDED"] * 4
    assert data["results"][4]["error"]["details"] == {"limit": 4, "used": 4}
    assert (data["succeeded"], data["failed"]) == (3, 5)
    assert len(await _stored_ids(small)) == 4


async def test_mixed_static_and_dynamic_items(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("batch-dynamic"))
    items = [
        {"type": "url", "content": "https://example.com/static"},
        {"kind": "dynamic", "name": "promo", "destination_url": "https://example.com/promo"},
        {"kind": "dynamic", "destination_url": "not a url"},
        {"kind": "animated", "type": "text", "content": "x"},
    ]
    answer = await owner.batch(items)
    data = answer.data(200)
    assert answer.envelope["success"] is True
    static, dynamic, bad_dynamic, bad_kind = data["results"]
    assert static["data"]["kind"] == "static"
    assert dynamic["data"]["kind"] == "dynamic"
    assert dynamic["data"]["destination_url"] == "https://example.com/promo"
    short_url = dynamic["data"]["short_url"]
    image = await owner.fetch(dynamic["data"]["image_url"])
    assert image.status == 200, dynamic["data"]["image_url"]
    assert decode_single_qr(image.body) == short_url
    assert bad_dynamic["error"]["details"]["field"] == "destination_url"
    assert bad_kind["error"]["details"]["field"] == "kind"
    listed = (await owner.list_codes(kind="dynamic")).envelope["data"]
    assert [code["qr_id"] for code in listed] == [dynamic["data"]["qr_id"]]


async def test_a_batch_counts_once_against_the_rate_limit(stack: Stack, api: ApiClient) -> None:
    limited = api.as_account(stack.create_account("batch-rate", rate_limit=5))
    items = [{"type": "text", "content": f"r{i}"} for i in range(20)]
    answer = await limited.batch(items)
    assert answer.status == 200
    assert answer.headers["X-RateLimit-Remaining"] == "4"
    assert len(await _stored_ids(limited)) == 20


# --- idempotency ---------------------------------------------------------------------------


async def test_replay_is_byte_identical_with_the_replayed_header(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("idem-replay"))
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "https://example.com/once", "include_image": True}
    first = await owner.generate(body, idempotency_key=key)
    again = await owner.generate(body, idempotency_key=key)
    assert first.status == again.status == 200
    assert again.body == first.body  # raw bytes
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # The request id describes the new request.
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert "X-RateLimit-Remaining" in again.headers
    # Key order and spacing do not make it a different request.
    reordered = await owner.generate(
        {"include_image": True, "content": "https://example.com/once", "type": "url"},
        idempotency_key=key,
    )
    assert reordered.body == first.body
    assert len(await _stored_ids(owner)) == 1

    # An image answer keeps its content type and id header.
    image_key = str(uuid.uuid4())
    image_body = {"type": "text", "content": "image once"}
    image_first = await owner.generate(image_body, accept="image/png", idempotency_key=image_key)
    image_again = await owner.generate(image_body, accept="image/png", idempotency_key=image_key)
    assert image_again.body == image_first.body
    assert decode_single_qr(image_again.body) == "image once"
    for header in ("Content-Type", "X-QR-Id"):
        assert image_again.headers[header] == image_first.headers[header]
    assert image_again.headers["Idempotent-Replayed"] == "true"

    # A batch replays too, and creates nothing more.
    batch_key = str(uuid.uuid4())
    batch = [{"type": "text", "content": f"b{i}"} for i in range(5)]
    batch_first = await owner.batch(batch, idempotency_key=batch_key)
    batch_again = await owner.batch(batch, idempotency_key=batch_key)
    assert batch_again.body == batch_first.body
    assert batch_again.headers["Idempotent-Replayed"] == "true"
    assert len(await _stored_ids(owner)) == 7


async def test_conflict_key_rules_and_account_scope(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("idem-conflict"))
    other = api.as_account(stack.create_account("idem-other"))
    key = str(uuid.uuid4())
    answer = await owner.generate({"type": "text", "content": "a"}, idempotency_key=key)
    assert answer.status == 200
    answer = await owner.generate({"type": "text", "content": "b"}, idempotency_key=key)
    assert answer.status == 409
    error = answer.envelope["error"]
    assert error["code"] == "IDEMPOTENCY_CONFLICT"
    assert error["details"]["field"] == "Idempotency-Key"
    # The same key on another route is another request too.
    dynamic = {"name": "d", "destination_url": "https://example.com/d"}
    answer = await owner.create_dynamic(dynamic, idempotency_key=key)
    assert answer.status == 409
    # Keys are scoped to the account: another account's identical key is its own.
    answer = await other.generate({"type": "text", "content": "b"}, idempotency_key=key)
    assert answer.status == 200 and "Idempotent-Replayed" not in answer.headers
    # Length bounds.
    answer = await owner.generate({"type": "text", "content": "c"}, idempotency_key="k" * 256)
    assert answer.status == 400
    assert answer.envelope["error"]["details"]["field"] == "Idempotency-Key"
    answer = await owner.generate({"type": "text", "content": "c"}, idempotency_key="k" * 255)
    assert answer.status == 200
    assert len(await _stored_ids(owner)) == 2


async def test_ten_concurrent_identical_requests_create_one_code(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("idem-race"))
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "https://example.com/race"}
    answers = await asyncio.gather(*(owner.generate(body, idempotency_key=key) for _ in range(10)))
    assert {answer.status for answer in answers} == {200}
    assert len({answer.body for answer in answers}) == 1
    replayed = [answer.headers.get("Idempotent-Replayed") for answer in answers]
    assert replayed.count("true") == 9 and replayed.count(None) == 1
    assert len(await _stored_ids(owner)) == 1

    # The same for a batch: ten racing copies store its items once.
    batch_key = str(uuid.uuid4())
    batch = [{"type": "text", "content": f"race {i}"} for i in range(10)]
    batch_answers = await asyncio.gather(
        *(owner.batch(batch, idempotency_key=batch_key) for _ in range(10))
    )
    assert len({answer.body for answer in batch_answers}) == 1
    assert len(await _stored_ids(owner)) == 11


async def test_4xx_answers_are_stored_and_replayed(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("idem-4xx"))
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "ftp://example.com"}
    first = await owner.generate(body, idempotency_key=key)
    again = await owner.generate(body, idempotency_key=key)
    assert first.status == again.status == 400
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"


async def test_api_key_creation_is_idempotent(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("idem-keys"))
    key = str(uuid.uuid4())
    body = {"name": "ci", "permissions": ["read"]}
    first = await owner.create_api_key(body, idempotency_key=key)
    again = await owner.create_api_key(body, idempotency_key=key)
    assert first.status == again.status == 201
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    names = [k["name"] for k in (await owner.list_api_keys()).envelope["data"]]
    assert names.count("ci") == 1


async def test_barcode_creation_is_idempotent(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("idem-barcodes"))
    key = str(uuid.uuid4())
    body = {"format": "EAN13", "value": "400638133393"}
    first = await owner.generate_barcode(body, accept="image/png", idempotency_key=key)
    again = await owner.generate_barcode(body, accept="image/png", idempotency_key=key)
    assert first.status == again.status == 200
    assert again.body == first.body
    assert again.headers["X-Barcode-Id"] == first.headers["X-Barcode-Id"]
    assert (await owner.list_barcodes()).envelope["pagination"]["total"] == 1


# --- a gateway whose render and analytics backends are down --------------------------------


@pytest.fixture(scope="module")
def broken_gateway(stack: Stack) -> Iterator[str]:
    """A second gateway on the same database, whose render and analytics addresses lead
    nowhere: creating a code fails with 503, usage has no scan count."""
    process, url = stack.start_gateway(
        "gateway-no-backends",
        {
            "RENDER_ADDR": f"127.0.0.1:{free_port()}",
            "ANALYTICS_ADDR": f"127.0.0.1:{free_port()}",
            "RENDER_TIMEOUT_S": "1",
        },
    )
    process.wait_ready()
    yield url
    process.stop()


async def test_a_5xx_is_not_stored_so_a_retry_executes(
    stack: Stack, broken_gateway: str, http: aiohttp.ClientSession, api: ApiClient
) -> None:
    account = stack.create_account("idem-5xx")
    owner = api.as_account(account)
    on_broken = ApiClient(http, broken_gateway, account)
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "https://example.com/after-outage"}
    for _ in range(2):
        answer = await on_broken.generate(body, idempotency_key=key)
        assert answer.status == 503, answer.body
        assert "Idempotent-Replayed" not in answer.headers
    # A batch that could store nothing because render is down fails as a whole, unstored too.
    answer = await on_broken.batch([body, body], idempotency_key=key + "b")
    assert answer.status == 503
    # The same key against the healthy gateway (same database) executes for real.
    answer = await owner.generate(body, idempotency_key=key)
    assert answer.status == 200 and "Idempotent-Replayed" not in answer.headers
    answer = await owner.batch([body, body], idempotency_key=key + "b")
    assert answer.status == 200 and "Idempotent-Replayed" not in answer.headers
    assert len(await _stored_ids(owner)) == 3


# --- usage ---------------------------------------------------------------------------------


async def test_account_usage(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("usage", rate_limit=50, max_codes=30))
    batch = await owner.batch([{"type": "text", "content": f"u{i}"} for i in range(3)])
    batch.data(200)
    assert batch.envelope["success"] is True
    barcode = await owner.generate_barcode({"format": "CODE128", "value": "USAGE-1"})
    assert barcode.status == 200
    answer = await owner.usage()
    usage = answer.data(200)
    remaining = int(answer.headers["X-RateLimit-Remaining"])
    assert usage["plan"] == "starter"
    assert usage["rate_limit"]["limit"] == 50
    assert usage["rate_limit"]["remaining"] == remaining == 47
    assert isinstance(usage["rate_limit"]["reset"], int)
    assert usage["qr_codes"] == {"used": 3, "limit": 30}
    assert usage["barcodes"] == {"used": 1}
    assert usage["scans_this_month"] == 0  # analytics runs in the stack; nothing scanned


async def test_usage_without_analytics_is_complete_but_the_scan_count(
    stack: Stack, broken_gateway: str, http: aiohttp.ClientSession
) -> None:
    owner = ApiClient(http, broken_gateway, stack.create_account("usage-no-analytics"))
    usage = (await owner.usage()).data(200)
    assert usage["scans_this_month"] is None
    assert usage["qr_codes"] == {"used": 0, "limit": 1000}
    assert usage["rate_limit"]["limit"] == 1000


async def test_expired_records_are_ignored_taken_over_and_purged(stack: Stack) -> None:
    pool = await open_pool(stack.database_url, max_size=2)
    try:
        account, hashed, fp = f"acc_expiry_{uuid.uuid4().hex}", key_hash("k"), b"f" * 32
        api_key = "key_expiry"
        first = uuid.uuid4()
        assert await storage.claim(pool, account, api_key, hashed, fp, first, retention_s=0)
        # Expired at once: ignored.
        assert await storage.find(pool, account, api_key, hashed) is None
        second = uuid.uuid4()
        assert await storage.claim(pool, account, api_key, hashed, b"g" * 32, second)  # taken over
        assert not await storage.complete(
            pool, account, api_key, hashed, first, status=200, headers=(), sealed_body=b""
        )  # the old claim can no longer write
        assert await storage.complete(
            pool,
            account,
            api_key,
            hashed,
            second,
            status=201,
            headers=(("X-QR-Id", "qr_1"),),
            sealed_body=b"x",
        )
        row = await storage.find(pool, account, api_key, hashed)
        assert row is not None and row.complete and row.status == 201
        assert row.headers == (("X-QR-Id", "qr_1"),) and row.fingerprint == b"g" * 32
        assert await storage.find(pool, account, "key_other", hashed) is None  # per API key
        # A live record is not taken over; an abandoned pending claim (lease over) is.
        assert not await storage.claim(pool, account, api_key, hashed, fp, uuid.uuid4())
        other = key_hash("abandoned")
        assert await storage.claim(pool, account, api_key, other, fp, uuid.uuid4(), lease_s=0)
        assert await storage.claim(pool, account, api_key, other, fp, uuid.uuid4())
        old = key_hash("old")
        await storage.claim(pool, account, api_key, old, fp, uuid.uuid4(), retention_s=0)
        assert await storage.purge_expired(pool) >= 1
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE account_id = $1", account
            )
            == 2
        )
    finally:
        await pool.close()
