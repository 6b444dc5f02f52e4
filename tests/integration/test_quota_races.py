"""The stored-code quota under concurrency, attacked from outside (all services as processes):
many creates racing at an account that has room for a few store exactly that many, single
calls and batches alike, and deletes give back exactly what they free (issue 13, finding 4)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.decoding import decode_single_qr
from tests.support.stack import Stack

QUOTA = 5
RACERS = 60
# Far above RACERS: a 429 must not stand in for the QUOTA_EXCEEDED under test.
HIGH_RATE_LIMIT = 100_000


async def _answer(call: Awaitable[ApiResponse]) -> tuple[int, dict[str, Any]]:
    resp = await call
    return resp.status, resp.envelope


async def _stored_total(api: ApiClient) -> int:
    listed = await api.list_codes(limit="100")
    assert listed.status == 200, listed.text
    total: int = listed.envelope["pagination"]["total"]
    assert total == len(listed.envelope["data"])
    return total


async def _qr_codes_used(api: ApiClient) -> int:
    qr_codes = (await api.usage()).data()["qr_codes"]
    assert qr_codes["limit"] == QUOTA
    used: int = qr_codes["used"]
    return used


def _quota_account(stack: Stack, api: ApiClient, name: str) -> ApiClient:
    return api.as_account(stack.create_account(name, max_codes=QUOTA, rate_limit=HIGH_RATE_LIMIT))


async def test_racing_creates_store_exactly_the_quota(stack: Stack, api: ApiClient) -> None:
    owner = _quota_account(stack, api, "quota-race-single")

    async def create(i: int) -> tuple[int, dict[str, Any]]:
        # Static and dynamic codes both count towards max_codes.
        if i % 3 == 0:
            body = {"name": f"d{i}", "destination_url": f"https://example.com/race/{i}"}
            return await _answer(owner.create_dynamic(body))
        return await _answer(owner.generate({"type": "text", "content": f"race {i}"}))

    answers = await asyncio.gather(*(create(i) for i in range(RACERS)))

    outcomes = Counter(
        "created" if status in (200, 201) else f"{status} {payload['error']['code']}"
        for status, payload in answers
    )
    assert outcomes == {"created": QUOTA, "403 QUOTA_EXCEEDED": RACERS - QUOTA}
    refused = next(payload for status, payload in answers if status == 403)
    assert refused["error"]["details"] == {"limit": QUOTA, "used": QUOTA}
    assert await _stored_total(owner) == QUOTA
    assert await _qr_codes_used(owner) == QUOTA
    # What was stored is real: every created code's image decodes to its content.
    for status, payload in answers:
        if status in (200, 201):
            decoded = decode_single_qr((await owner.fetch(payload["data"]["image_url"])).body)
            expected = payload["data"].get("short_url") or payload["data"]["content"]
            assert decoded == expected


async def test_racing_batches_store_exactly_the_quota(stack: Stack, api: ApiClient) -> None:
    owner = _quota_account(stack, api, "quota-race-batch")
    batches = RACERS // QUOTA  # 12 batches of 5 items: each alone would fit the quota

    async def batch(b: int) -> list[dict[str, Any]]:
        items = [{"type": "text", "content": f"batch {b} item {i}"} for i in range(QUOTA)]
        results: list[dict[str, Any]] = (await owner.batch(items)).data()["results"]
        return results

    all_results = await asyncio.gather(*(batch(b) for b in range(batches)))

    outcomes = Counter(
        "created" if result["success"] else result["error"]["code"]
        for results in all_results
        for result in results
    )
    assert outcomes == {"created": QUOTA, "QUOTA_EXCEEDED": RACERS - QUOTA}
    for results in all_results:
        # Within a batch the quota stays deterministic: the stored items are a prefix.
        successes = [result["success"] for result in results]
        assert successes == sorted(successes, reverse=True)
    assert await _stored_total(owner) == QUOTA
    assert await _qr_codes_used(owner) == QUOTA


async def test_racing_deletes_free_the_quota_once_each(stack: Stack, api: ApiClient) -> None:
    owner = _quota_account(stack, api, "quota-delete")
    ids: list[str] = []
    for i in range(QUOTA):
        if i < 2:
            body = {"name": f"d{i}", "destination_url": f"https://example.com/d/{i}"}
            status, payload = await _answer(owner.create_dynamic(body))
        else:
            status, payload = await _answer(
                owner.generate({"type": "text", "content": f"code {i}"})
            )
        assert status in (200, 201), payload
        ids.append(payload["data"]["qr_id"])
    assert await _qr_codes_used(owner) == QUOTA
    # Barcodes do not count towards max_codes: the full account still makes one.
    barcode = await owner.generate_barcode({"format": "CODE128", "value": "FULL-1"})
    assert barcode.status == 200, barcode.text

    async def delete(qr_id: str) -> int:
        return (await owner.delete_code(qr_id)).status

    # Ten racing deletes of the same dynamic code free exactly one place.
    statuses = await asyncio.gather(*(delete(ids[0]) for _ in range(10)))
    assert sorted(statuses) == [200] + [404] * 9
    assert await _qr_codes_used(owner) == QUOTA - 1
    assert await _stored_total(owner) == QUOTA - 1

    # The freed place is taken once by racing creates, then the account is full again.
    answers = await asyncio.gather(
        *(_answer(owner.generate({"type": "text", "content": f"r{i}"})) for i in range(10))
    )
    assert sorted(status for status, _ in answers) == [200] + [403] * 9
    assert await _qr_codes_used(owner) == QUOTA

    # A static delete frees a place too.
    assert await delete(ids[-1]) == 200
    assert await _qr_codes_used(owner) == QUOTA - 1
    assert await _stored_total(owner) == QUOTA - 1


async def test_unlimited_accounts_count_every_create_and_a_later_limit_holds(
    stack: Stack, api: ApiClient
) -> None:
    """Unlimited accounts count their creates on spread-out counter rows (no queue on one row
    lock); the usage sums them, and a limit set later is enforced on that sum."""
    account = stack.create_account("quota-unlimited", max_codes=0, rate_limit=HIGH_RATE_LIMIT)
    owner = api.as_account(account)
    answers = await asyncio.gather(
        *(owner.generate({"type": "text", "content": f"u{i}"}) for i in range(40))
    )
    assert [answer.status for answer in answers] == [200] * 40
    assert (await owner.usage()).data()["qr_codes"] == {"used": 40, "limit": None}

    stack.keys_cli(
        "set-plan",
        account.account_id,
        "starter",
        "--max-codes",
        "42",
        "--rate-limit",
        str(HIGH_RATE_LIMIT),
    )
    # A new key reads the new plan at once (the old one's principal may still be cached).
    created = await owner.create_api_key(
        {"name": "after plan change", "permissions": ["read", "write"]}
    )
    limited = owner.as_key(created.data(201)["api_key"])
    answers = await asyncio.gather(
        *(limited.generate({"type": "text", "content": f"l{i}"}) for i in range(10))
    )
    assert sorted(answer.status for answer in answers) == [200] * 2 + [403] * 8
    assert (await limited.usage()).data()["qr_codes"] == {"used": 42, "limit": 42}
