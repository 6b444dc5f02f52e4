"""Who is calling and their keys, against a keys service that answers, refuses, stalls or is
gone: a backend problem is 503 (never a 500, never the client's 401), the keys service's own
errors reach the client as they are, and invalid requests never reach it."""

from __future__ import annotations

import secrets
import time

import grpc

from qrforge.v1 import keys_pb2
from services.runtime.errors import ApiError
from tests.service.gateway.conftest import StartGateway, dead_address, new_account
from tests.service.gateway.fakes import Abort, FakeBackends, stamp
from tests.support.api_client import ApiClient
from tests.support.stack import ApiAccount


async def test_keys_down_is_503_not_500(start_gateway: StartGateway, account: ApiAccount) -> None:
    gateway = (await start_gateway(KEYS_ADDR=dead_address())).as_account(account)
    answer = await gateway.list_codes()
    assert answer.status == 503 and answer.error_code == "SERVICE_UNAVAILABLE"


async def test_keys_slower_than_the_rpc_timeout_is_503(
    start_gateway: StartGateway, backends: FakeBackends, account: ApiAccount
) -> None:
    gateway = (await start_gateway(RPC_TIMEOUT_S="0.2")).as_account(account)
    backends.keys.script.delays["Authenticate"] = 0.6
    answer = await gateway.list_codes()
    assert answer.status == 503 and answer.error_code == "SERVICE_UNAVAILABLE"


async def test_backends_refusing_the_gateways_own_token_is_503_not_401(
    start_gateway: StartGateway, backends: FakeBackends, account: ApiAccount
) -> None:
    gateway = (await start_gateway(GRPC_AUTH_TOKEN=secrets.token_urlsafe(32))).as_account(account)
    answer = await gateway.list_codes()
    assert answer.status == 503 and answer.error_code == "SERVICE_UNAVAILABLE"
    assert backends.keys.script.calls == []  # refused before the servicer


async def test_missing_unknown_and_expired_keys_are_401(
    gateway: ApiClient, backends: FakeBackends
) -> None:
    missing = await gateway.list_codes()
    assert (missing.status, missing.error_code) == (401, "INVALID_API_KEY")
    assert backends.keys.script.calls == []  # no key, no question to keys
    unknown = await gateway.as_key("sk_test_unknown").list_codes()
    assert (unknown.status, unknown.error_code) == (401, "INVALID_API_KEY")
    expired = new_account(backends, expires_at=time.time() - 60)
    answer = await gateway.as_account(expired).list_codes()
    assert (answer.status, answer.error_code) == (401, "INVALID_API_KEY")
    assert answer.envelope["error"]["message"] == "The API key has expired"


async def test_a_key_is_asked_about_once_then_cached(
    api: ApiClient, backends: FakeBackends
) -> None:
    for _ in range(3):
        assert (await api.list_codes()).status == 200
    assert len(backends.keys.script.requests("Authenticate")) == 1


async def test_permissions_and_plan_are_enforced(
    gateway: ApiClient, backends: FakeBackends
) -> None:
    reader = gateway.as_account(new_account(backends, permissions=("read",)))
    assert (await reader.list_codes()).status == 200
    refused = await reader.generate({"type": "text", "content": "x"})
    assert (refused.status, refused.error_code) == (403, "INSUFFICIENT_PERMISSION")
    free = gateway.as_account(new_account(backends, api_access=False))
    answer = await free.list_codes()
    assert (answer.status, answer.error_code) == (403, "API_NOT_AVAILABLE")


async def test_list_keys_shows_each_key_without_secrets(
    api: ApiClient, account: ApiAccount, backends: FakeBackends
) -> None:
    used = keys_pb2.ApiKey(
        key_id="key_aaaaaaaaaaaaaaaa",
        name="ci job",
        permissions=["read"],
        prefix="sk_live_AbCd",
        created_at=stamp(1_773_311_400),  # 2026-03-12T10:30:00Z
        last_used_at=stamp(1_773_315_000.5),
        rate_limit_per_min=60,
    )
    fresh = keys_pb2.ApiKey(key_id="key_bbbbbbbbbbbbbbbb", name="new", permissions=["read"])
    backends.keys.listed[account.account_id] = [used, fresh]
    data = (await api.list_api_keys()).data()
    assert data == [
        {
            "key_id": "key_aaaaaaaaaaaaaaaa",
            "name": "ci job",
            "permissions": ["read"],
            "prefix": "sk_live_AbCd",
            "created_at": "2026-03-12T10:30:00Z",
            "last_used_at": "2026-03-12T11:30:00Z",
            "expires_at": None,
            "rate_limit": 60,
        },
        {
            "key_id": "key_bbbbbbbbbbbbbbbb",
            "name": "new",
            "permissions": ["read"],
            "prefix": "",
            "created_at": None,
            "last_used_at": None,
            "expires_at": None,
            "rate_limit": None,
        },
    ]
    (asked,) = backends.keys.script.requests("ListKeys")
    assert asked.account_id == account.account_id


async def test_create_key_sends_the_creators_limits_and_shows_the_secret_once(
    gateway: ApiClient, backends: FakeBackends
) -> None:
    expires = time.time() + 86_400
    creator = new_account(backends, key_rate_limit_per_min=100, expires_at=expires)
    api = gateway.as_account(creator)
    answer = await api.create_api_key(
        {"name": "  ci job ", "permissions": ["read", "read"], "rate_limit": 50}
    )
    data = answer.data(201)
    assert data["api_key"].startswith("sk_test_created") and data["name"] == "ci job"
    assert data["permissions"] == ["read"] and data["rate_limit"] == 50
    (sent,) = backends.keys.script.requests("CreateKey")
    creator_key = backends.keys.by_secret[creator.api_key].key
    assert (sent.account_id, sent.name, list(sent.permissions)) == (
        creator.account_id,
        "ci job",
        ["read"],
    )
    assert list(sent.creator_permissions) == ["read", "write"]
    assert (sent.creator_key_id, sent.creator_rate_limit_per_min) == (creator_key.key_id, 100)
    assert sent.creator_expires_at.ToMicroseconds() == creator_key.expires_at.ToMicroseconds()
    assert not sent.HasField("expires_at")


async def test_invalid_new_keys_are_refused_without_asking_keys(
    api: ApiClient, backends: FakeBackends
) -> None:
    for body, field in (
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "k", "permissions": []}, "permissions"),
        ({"name": "k", "permissions": ["admin"]}, "permissions"),
        ({"name": "k", "rate_limit": 0}, "rate_limit"),
        ({"name": "k", "rate_limit": True}, "rate_limit"),
        ({"name": "k", "rate_limit": 2**31}, "rate_limit"),
        ({"name": "k", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "k", "expires_at": "next tuesday"}, "expires_at"),
    ):
        answer = await api.create_api_key(body)
        assert answer.status == 400, body
        assert answer.envelope["error"]["code"] == "INVALID_PARAMETER"
        assert answer.envelope["error"]["details"]["field"] == field, body
    assert backends.keys.script.requests("CreateKey") == []


async def test_keys_service_refusals_reach_the_client_as_they_are(
    api: ApiClient, backends: FakeBackends
) -> None:
    backends.keys.script.failures["CreateKey"] = ApiError(
        "INSUFFICIENT_PERMISSION", "A key cannot grant a permission it does not hold"
    )
    refused = await api.create_api_key({"name": "k"})
    assert refused.status == 403
    assert refused.envelope["error"] == {
        "code": "INSUFFICIENT_PERMISSION",
        "message": "A key cannot grant a permission it does not hold",
    }
    backends.keys.script.failures["CreateKey"] = ApiError(
        "INVALID_PARAMETER", "rate_limit is above the creator's", field="rate_limit"
    )
    invalid = await api.create_api_key({"name": "k", "rate_limit": 5000})
    assert invalid.status == 400
    assert invalid.envelope["error"]["details"] == {"field": "rate_limit"}


async def test_keys_failing_after_authentication_is_503(
    api: ApiClient, backends: FakeBackends
) -> None:
    assert (await api.list_api_keys()).status == 200  # authenticated and cached
    backends.keys.script.failures["ListKeys"] = Abort(grpc.StatusCode.UNAVAILABLE)
    answer = await api.list_api_keys()
    assert (answer.status, answer.error_code) == (503, "SERVICE_UNAVAILABLE")
    backends.keys.script.failures["ListKeys"] = RuntimeError("bug in keys")
    crashed = await api.list_api_keys()
    assert (crashed.status, crashed.error_code) == (500, "INTERNAL_ERROR")


async def test_revoking_a_key_forgets_it_at_once_on_this_gateway(
    gateway: ApiClient, backends: FakeBackends
) -> None:
    holder = new_account(backends)
    second_secret = f"sk_test_{secrets.token_urlsafe(24)}"
    second = backends.keys.add_key(second_secret, holder.account_id)
    other = gateway.as_key(second_secret)
    assert (await other.list_codes()).status == 200  # cached from here on

    revoked = await gateway.as_account(holder).revoke_api_key(second.key.key_id)
    assert revoked.data() == {"key_id": second.key.key_id, "revoked": True}
    answer = await other.list_codes()
    assert (answer.status, answer.error_code) == (401, "INVALID_API_KEY")


async def test_revoking_what_is_not_there(api: ApiClient, backends: FakeBackends) -> None:
    unknown = await api.revoke_api_key("key_0000000000000000")
    assert (unknown.status, unknown.error_code) == (404, "KEY_NOT_FOUND")
    asked = len(backends.keys.script.requests("RevokeKey"))
    for malformed in ("qr_0000000000000000", "key_", "key_abc-def"):
        answer = await api.revoke_api_key(malformed)
        assert (answer.status, answer.error_code) == (404, "KEY_NOT_FOUND"), malformed
    assert len(backends.keys.script.requests("RevokeKey")) == asked  # never asked
