"""An ``Idempotency-Key`` replay never hands one API key the response another key of the same
account got: ``POST /v1/api-keys`` answers with a secret (issue 13, finding 7). All services as
processes."""

from __future__ import annotations

import uuid

from tests.support.api_client import ApiClient
from tests.support.stack import Stack


async def test_a_weaker_key_cannot_replay_another_keys_api_key_creation(
    stack: Stack, api: ApiClient
) -> None:
    owner = api.as_account(stack.create_account("idem-key-scope"))  # reads and writes
    made = await owner.create_api_key({"name": "writer", "permissions": ["write"]})
    writer = owner.as_key(made.data(201)["api_key"])

    idempotency_key = str(uuid.uuid4())
    body = {"name": "deploy bot", "permissions": ["read", "write"]}
    first = await owner.create_api_key(body, idempotency_key=idempotency_key)
    created = first.data(201)
    assert created["api_key"].startswith("sk_")

    # The write-only key sends the very same request with the same Idempotency-Key: it gets
    # what it would get on its own (it cannot grant 'read'), not the stored secret.
    answer = await writer.create_api_key(body, idempotency_key=idempotency_key)
    assert created["api_key"].encode() not in answer.body
    assert "Idempotent-Replayed" not in answer.headers
    assert answer.status == 403 and answer.error_code == "INSUFFICIENT_PERMISSION"
    # Its own answer is what it gets on retry.
    again = await writer.create_api_key(body, idempotency_key=idempotency_key)
    assert again.status == 403 and again.body == answer.body
    assert again.headers["Idempotent-Replayed"] == "true"

    # The key that made the request still gets its response replayed, and one key exists.
    replayed = await owner.create_api_key(body, idempotency_key=idempotency_key)
    assert replayed.status == 201 and replayed.body == first.body
    assert replayed.headers["Idempotent-Replayed"] == "true"
    listed = (await owner.list_api_keys()).envelope["data"]
    assert [key["name"] for key in listed].count("deploy bot") == 1
