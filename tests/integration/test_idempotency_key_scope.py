"""An ``Idempotency-Key`` replay never hands one API key the response another key of the same
account got: ``POST /v1/api-keys`` answers with a secret (issue 13, finding 7). All services as
processes."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from tests.support.stack import ApiAccount, Stack


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    account: ApiAccount,
    body: Any,
    *,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str], bytes]:
    headers = dict(account.headers)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    async with http.post(url, json=body, headers=headers) as resp:
        raw = await resp.read()
        payload: dict[str, Any] = await resp.json()
        return resp.status, payload, resp.headers, raw


async def test_a_weaker_key_cannot_replay_another_keys_api_key_creation(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    owner = stack.create_account("idem-key-scope")  # its first key reads and writes
    keys_url = f"{stack.gateway_url}/v1/api-keys"
    status, payload, _, _ = await _post(
        http, keys_url, owner, {"name": "writer", "permissions": ["write"]}
    )
    assert status == 201, payload
    writer = ApiAccount(owner.account_id, payload["data"]["api_key"])

    idempotency_key = str(uuid.uuid4())
    body = {"name": "deploy bot", "permissions": ["read", "write"]}
    status, created, _, first_raw = await _post(
        http, keys_url, owner, body, idempotency_key=idempotency_key
    )
    assert status == 201 and created["data"]["api_key"].startswith("sk_")

    # The write-only key sends the very same request with the same Idempotency-Key: it gets
    # what it would get on its own (it cannot grant 'read'), not the stored secret.
    status, answer, headers, raw = await _post(
        http, keys_url, writer, body, idempotency_key=idempotency_key
    )
    assert created["data"]["api_key"].encode() not in raw
    assert "Idempotent-Replayed" not in headers
    assert status == 403 and answer["error"]["code"] == "INSUFFICIENT_PERMISSION"
    # Its own answer is what it gets on retry.
    status, _, headers, again = await _post(
        http, keys_url, writer, body, idempotency_key=idempotency_key
    )
    assert status == 403 and again == raw and headers["Idempotent-Replayed"] == "true"

    # The key that made the request still gets its response replayed, and one key exists.
    status, _, headers, replayed = await _post(
        http, keys_url, owner, body, idempotency_key=idempotency_key
    )
    assert status == 201 and replayed == first_raw and headers["Idempotent-Replayed"] == "true"
    async with http.get(keys_url, headers=owner.headers) as resp:
        listed = await resp.json()
    assert [key["name"] for key in listed["data"]].count("deploy bot") == 1
