"""Batch creation, Idempotency-Key and account usage end to end (all services as processes)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from services.gateway.idempotency import storage
from services.gateway.idempotency.policy import key_hash
from services.runtime.postgres import open_pool
from tests.support.decoding import decode_single_qr
from tests.support.processes import free_port
from tests.support.stack import ApiAccount, Stack


def _url(stack: Stack, path: str) -> str:
    return f"{stack.gateway_url}{path}"


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    account: ApiAccount,
    body: Any,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, CIMultiDict[str], bytes]:
    sent = {**account.headers, **(headers or {})}
    if key is not None:
        sent["Idempotency-Key"] = key
    async with http.post(url, json=body, headers=sent) as resp:
        return resp.status, CIMultiDict(resp.headers), await resp.read()


async def _json_post(
    http: aiohttp.ClientSession, url: str, account: ApiAccount, body: Any
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body, headers=account.headers) as resp:
        payload: dict[str, Any] = await resp.json()
        return resp.status, payload


async def _batch(
    http: aiohttp.ClientSession, stack: Stack, account: ApiAccount, items: Any
) -> dict[str, Any]:
    status, payload = await _json_post(
        http, _url(stack, "/v1/qrcodes/batch"), account, {"items": items}
    )
    assert status == 200, payload
    assert payload["success"] is True
    data: dict[str, Any] = payload["data"]
    return data


async def _stored_ids(http: aiohttp.ClientSession, stack: Stack, account: ApiAccount) -> list[str]:
    async with http.get(
        _url(stack, "/v1/qrcodes"), params={"limit": "100"}, headers=account.headers
    ) as resp:
        payload = await resp.json()
    assert payload["pagination"]["total"] == len(payload["data"])
    return [code["qr_id"] for code in payload["data"]]


async def _image(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return await resp.read()


# --- batch ---------------------------------------------------------------------------------


async def test_batch_of_100_valid_items_stores_100_decodable_codes(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("batch-100")
    items: list[dict[str, Any]] = []
    expected: list[str] = []
    for i in range(100):
        if i % 2 == 0:
            items.append({"type": "url", "content": f"https://example.com/batch/{i}"})
            expected.append(f"https://example.com/batch/{i}")
        else:
            items.append({"type": "text", "content": f"batch item {i}", "size": 256})
            expected.append(f"batch item {i}")
    data = await _batch(http, stack, owner, items)
    assert (data["succeeded"], data["failed"]) == (100, 0)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(100))
    assert all(r["success"] is True for r in results)
    ids = [r["data"]["qr_id"] for r in results]
    assert len(set(ids)) == 100
    assert sorted(await _stored_ids(http, stack, owner)) == sorted(ids)

    semaphore = asyncio.Semaphore(8)

    async def decoded(result: dict[str, Any]) -> str:
        async with semaphore:
            return decode_single_qr(await _image(http, result["data"]["image_url"]))

    assert await asyncio.gather(*(decoded(r) for r in results)) == expected


async def test_invalid_items_in_the_middle_get_the_single_route_errors(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("batch-mixed")
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
    data = await _batch(http, stack, owner, items)
    assert (data["succeeded"], data["failed"]) == (3, 7)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(10))
    assert [r["success"] for r in results] == [i in (0, 3, 9) for i in range(10)]
    for index, body in invalid.items():
        status, single = await _json_post(http, _url(stack, "/v1/qrcodes/generate"), owner, body)
        assert status in (400, 422)
        assert results[index]["error"] == single["error"], index
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
    stored = await _stored_ids(http, stack, owner)
    assert sorted(stored) == sorted(results[i]["data"]["qr_id"] for i in (0, 3, 9))


async def test_batch_size_and_shape_errors(stack: Stack, http: aiohttp.ClientSession) -> None:
    owner = stack.create_account("batch-shape")
    url = _url(stack, "/v1/qrcodes/batch")
    item = {"type": "text", "content": "x"}
    status, payload = await _json_post(http, url, owner, {"items": [item] * 101})
    assert status == 400 and payload["error"]["code"] == "BATCH_TOO_LARGE"
    for body in ({}, {"items": {"type": "text"}}, {"items": "x"}):
        status, payload = await _json_post(http, url, owner, body)
        assert status == 400, body
        assert payload["error"]["code"] == "INVALID_PARAMETER"
        assert payload["error"]["details"]["field"] == "items"
    assert await _stored_ids(http, stack, owner) == []
    assert await _batch(http, stack, owner, []) == {"results": [], "succeeded": 0, "failed": 0}


async def test_quota_reached_in_the_middle_of_a_batch(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    small = stack.create_account("batch-quota", max_codes=4)
    status, _ = await _json_post(
        http, _url(stack, "/v1/qrcodes/generate"), small, {"type": "text", "content": "first"}
    )
    assert status == 200
    items: list[dict[str, Any]] = [{"type": "text", "content": f"q{i}"} for i in range(8)]
    items[1] = {"type": "nope", "content": "x"}  # invalid items never use quota
    data = await _batch(http, stack, small, items)
    codes = [r["data"]["type"] if r["success"] else r["error"]["code"] for r in data["results"]]
    assert codes == ["text", "INVALID_TYPE", "text", "text"] + ["QUOTA_EXCEEDED"] * 4
    assert data["results"][4]["error"]["details"] == {"limit": 4, "used": 4}
    assert (data["succeeded"], data["failed"]) == (3, 5)
    assert len(await _stored_ids(http, stack, small)) == 4


async def test_mixed_static_and_dynamic_items(stack: Stack, http: aiohttp.ClientSession) -> None:
    owner = stack.create_account("batch-dynamic")
    items = [
        {"type": "url", "content": "https://example.com/static"},
        {"kind": "dynamic", "name": "promo", "destination_url": "https://example.com/promo"},
        {"kind": "dynamic", "destination_url": "not a url"},
        {"kind": "animated", "type": "text", "content": "x"},
    ]
    data = await _batch(http, stack, owner, items)
    static, dynamic, bad_dynamic, bad_kind = data["results"]
    assert static["data"]["kind"] == "static"
    assert dynamic["data"]["kind"] == "dynamic"
    assert dynamic["data"]["destination_url"] == "https://example.com/promo"
    short_url = dynamic["data"]["short_url"]
    assert decode_single_qr(await _image(http, dynamic["data"]["image_url"])) == short_url
    assert bad_dynamic["error"]["details"]["field"] == "destination_url"
    assert bad_kind["error"]["details"]["field"] == "kind"
    async with http.get(
        _url(stack, "/v1/qrcodes"), params={"kind": "dynamic"}, headers=owner.headers
    ) as resp:
        listed = (await resp.json())["data"]
    assert [code["qr_id"] for code in listed] == [dynamic["data"]["qr_id"]]


async def test_a_batch_counts_once_against_the_rate_limit(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    limited = stack.create_account("batch-rate", rate_limit=5)
    items = [{"type": "text", "content": f"r{i}"} for i in range(20)]
    status, headers, _ = await _post(
        http, _url(stack, "/v1/qrcodes/batch"), limited, {"items": items}
    )
    assert status == 200
    assert headers["X-RateLimit-Remaining"] == "4"
    assert len(await _stored_ids(http, stack, limited)) == 20


# --- idempotency ---------------------------------------------------------------------------


async def test_replay_is_byte_identical_with_the_replayed_header(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-replay")
    key = str(uuid.uuid4())
    url = _url(stack, "/v1/qrcodes/generate")
    body = {"type": "url", "content": "https://example.com/once", "include_image": True}
    first = await _post(http, url, owner, body, key=key)
    again = await _post(http, url, owner, body, key=key)
    assert first[0] == again[0] == 200
    assert again[2] == first[2]  # raw bytes
    assert again[1]["Content-Type"] == first[1]["Content-Type"]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first[1]
    assert again[1]["X-Request-Id"] != first[1]["X-Request-Id"]  # describes the new request
    assert "X-RateLimit-Remaining" in again[1]
    # Key order and spacing do not make it a different request.
    reordered = await _post(
        http,
        url,
        owner,
        {"include_image": True, "content": "https://example.com/once", "type": "url"},
        key=key,
    )
    assert reordered[2] == first[2]
    assert len(await _stored_ids(http, stack, owner)) == 1

    # An image answer keeps its content type and id header.
    image_key = str(uuid.uuid4())
    png = {"Accept": "image/png"}
    image_body = {"type": "text", "content": "image once"}
    image_first = await _post(http, url, owner, image_body, key=image_key, headers=png)
    image_again = await _post(http, url, owner, image_body, key=image_key, headers=png)
    assert image_again[2] == image_first[2]
    assert decode_single_qr(image_again[2]) == "image once"
    for header in ("Content-Type", "X-QR-Id"):
        assert image_again[1][header] == image_first[1][header]
    assert image_again[1]["Idempotent-Replayed"] == "true"

    # A batch replays too, and creates nothing more.
    batch_key = str(uuid.uuid4())
    batch_url = _url(stack, "/v1/qrcodes/batch")
    batch = {"items": [{"type": "text", "content": f"b{i}"} for i in range(5)]}
    batch_first = await _post(http, batch_url, owner, batch, key=batch_key)
    batch_again = await _post(http, batch_url, owner, batch, key=batch_key)
    assert batch_again[2] == batch_first[2] and batch_again[1]["Idempotent-Replayed"] == "true"
    assert len(await _stored_ids(http, stack, owner)) == 7


async def test_conflict_key_rules_and_account_scope(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-conflict")
    other = stack.create_account("idem-other")
    url = _url(stack, "/v1/qrcodes/generate")
    key = str(uuid.uuid4())
    status, _, _ = await _post(http, url, owner, {"type": "text", "content": "a"}, key=key)
    assert status == 200
    status, _, raw = await _post(http, url, owner, {"type": "text", "content": "b"}, key=key)
    assert status == 409
    error = json.loads(raw)["error"]
    assert error["code"] == "IDEMPOTENCY_CONFLICT"
    assert error["details"]["field"] == "Idempotency-Key"
    # The same key on another route is another request too.
    dynamic = {"name": "d", "destination_url": "https://example.com/d"}
    status, _, _ = await _post(http, _url(stack, "/v1/qrcodes/dynamic"), owner, dynamic, key=key)
    assert status == 409
    # Keys are scoped to the account: another account's identical key is its own.
    status, headers, _ = await _post(http, url, other, {"type": "text", "content": "b"}, key=key)
    assert status == 200 and "Idempotent-Replayed" not in headers
    # Length bounds.
    status, _, raw = await _post(http, url, owner, {"type": "text", "content": "c"}, key="k" * 256)
    assert status == 400
    assert json.loads(raw)["error"]["details"]["field"] == "Idempotency-Key"
    status, _, _ = await _post(http, url, owner, {"type": "text", "content": "c"}, key="k" * 255)
    assert status == 200
    assert len(await _stored_ids(http, stack, owner)) == 2


async def test_ten_concurrent_identical_requests_create_one_code(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-race")
    key = str(uuid.uuid4())
    url = _url(stack, "/v1/qrcodes/generate")
    body = {"type": "url", "content": "https://example.com/race"}
    answers = await asyncio.gather(*(_post(http, url, owner, body, key=key) for _ in range(10)))
    assert {status for status, _, _ in answers} == {200}
    assert len({raw for _, _, raw in answers}) == 1
    replayed = [headers.get("Idempotent-Replayed") for _, headers, _ in answers]
    assert replayed.count("true") == 9 and replayed.count(None) == 1
    assert len(await _stored_ids(http, stack, owner)) == 1

    # The same for a batch: ten racing copies store its items once.
    batch_key = str(uuid.uuid4())
    batch = {"items": [{"type": "text", "content": f"race {i}"} for i in range(10)]}
    batch_url = _url(stack, "/v1/qrcodes/batch")
    batch_answers = await asyncio.gather(
        *(_post(http, batch_url, owner, batch, key=batch_key) for _ in range(10))
    )
    assert len({raw for _, _, raw in batch_answers}) == 1
    assert len(await _stored_ids(http, stack, owner)) == 11


async def test_4xx_answers_are_stored_and_replayed(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-4xx")
    key = str(uuid.uuid4())
    url = _url(stack, "/v1/qrcodes/generate")
    body = {"type": "url", "content": "ftp://example.com"}
    first = await _post(http, url, owner, body, key=key)
    again = await _post(http, url, owner, body, key=key)
    assert first[0] == again[0] == 400
    assert again[2] == first[2] and again[1]["Idempotent-Replayed"] == "true"


async def test_api_key_creation_is_idempotent(stack: Stack, http: aiohttp.ClientSession) -> None:
    owner = stack.create_account("idem-keys")
    key = str(uuid.uuid4())
    url = _url(stack, "/v1/api-keys")
    body = {"name": "ci", "permissions": ["read"]}
    first = await _post(http, url, owner, body, key=key)
    again = await _post(http, url, owner, body, key=key)
    assert first[0] == again[0] == 201
    assert again[2] == first[2] and again[1]["Idempotent-Replayed"] == "true"
    async with http.get(url, headers=owner.headers) as resp:
        names = [k["name"] for k in (await resp.json())["data"]]
    assert names.count("ci") == 1


async def test_barcode_creation_is_idempotent(stack: Stack, http: aiohttp.ClientSession) -> None:
    owner = stack.create_account("idem-barcodes")
    key = str(uuid.uuid4())
    url = _url(stack, "/v1/barcodes/generate")
    body = {"format": "EAN13", "value": "400638133393"}
    png = {"Accept": "image/png"}
    first = await _post(http, url, owner, body, key=key, headers=png)
    again = await _post(http, url, owner, body, key=key, headers=png)
    assert first[0] == again[0] == 200
    assert again[2] == first[2] and again[1]["X-Barcode-Id"] == first[1]["X-Barcode-Id"]
    async with http.get(_url(stack, "/v1/barcodes"), headers=owner.headers) as resp:
        assert (await resp.json())["pagination"]["total"] == 1


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
    stack: Stack, broken_gateway: str, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-5xx")
    key = str(uuid.uuid4())
    body = {"type": "url", "content": "https://example.com/after-outage"}
    path = "/v1/qrcodes/generate"
    for _ in range(2):
        status, headers, raw = await _post(http, broken_gateway + path, owner, body, key=key)
        assert status == 503, raw
        assert "Idempotent-Replayed" not in headers
    # A batch that could store nothing because render is down fails as a whole, unstored too.
    status, _, _ = await _post(
        http, broken_gateway + "/v1/qrcodes/batch", owner, {"items": [body, body]}, key=key + "b"
    )
    assert status == 503
    # The same key against the healthy gateway (same database) executes for real.
    status, headers, _ = await _post(http, _url(stack, path), owner, body, key=key)
    assert status == 200 and "Idempotent-Replayed" not in headers
    status, headers, _ = await _post(
        http, _url(stack, "/v1/qrcodes/batch"), owner, {"items": [body, body]}, key=key + "b"
    )
    assert status == 200 and "Idempotent-Replayed" not in headers
    assert len(await _stored_ids(http, stack, owner)) == 3


# --- usage ---------------------------------------------------------------------------------


async def test_account_usage(stack: Stack, http: aiohttp.ClientSession) -> None:
    owner = stack.create_account("usage", rate_limit=50, max_codes=30)
    await _batch(http, stack, owner, [{"type": "text", "content": f"u{i}"} for i in range(3)])
    status, _ = await _json_post(
        http,
        _url(stack, "/v1/barcodes/generate"),
        owner,
        {"format": "CODE128", "value": "USAGE-1"},
    )
    assert status == 200
    async with http.get(_url(stack, "/v1/account/usage"), headers=owner.headers) as resp:
        assert resp.status == 200
        usage = (await resp.json())["data"]
        remaining = int(resp.headers["X-RateLimit-Remaining"])
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
    owner = stack.create_account("usage-no-analytics")
    async with http.get(broken_gateway + "/v1/account/usage", headers=owner.headers) as resp:
        assert resp.status == 200
        usage = (await resp.json())["data"]
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
