"""The gateway's front door over real processes: auth, permissions, errors, keys, metrics."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.support.api_client import ApiClient, ApiResponse
from tests.support.polling import eventually
from tests.support.processes import free_port
from tests.support.stack import ApiAccount, Stack

JSON = {"Content-Type": "application/json"}


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = await response.json()
    return body


def _assert_error(body: dict[str, Any], code: str) -> None:
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_missing_and_unknown_keys_are_401(stack: Stack, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{stack.gateway_url}/v1/api-keys") as resp:
        assert resp.status == 401
        _assert_error(await _json(resp), "INVALID_API_KEY")
        assert resp.headers["X-Request-Id"]
    bogus = {"Authorization": "Bearer sk_live_" + "A" * 40}
    async with http.get(f"{stack.gateway_url}/v1/api-keys", headers=bogus) as resp:
        assert resp.status == 401
        _assert_error(await _json(resp), "INVALID_API_KEY")
    async with http.get(
        f"{stack.gateway_url}/v1/api-keys", headers={"Authorization": "Bearer nonsense"}
    ) as resp:
        assert resp.status == 401


async def test_key_in_query_string_is_not_accepted(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        f"{stack.gateway_url}/v1/api-keys", params={"api_key": account.api_key}
    ) as resp:
        assert resp.status == 401


async def test_x_api_key_header_and_request_id_echo(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    headers = {"X-API-Key": account.api_key, "X-Request-Id": "client-req-42"}
    async with http.get(f"{stack.gateway_url}/v1/account/usage", headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["X-Request-Id"] == "client-req-42"
        body = await _json(resp)
        assert body["success"] is True
        assert body["data"]["plan"] == "starter"
        assert body["data"]["rate_limit"]["limit"] == 1000


async def test_body_errors(stack: Stack, account: ApiAccount, http: aiohttp.ClientSession) -> None:
    url = f"{stack.gateway_url}/v1/api-keys"
    async with http.post(url, data=b"{not json", headers={**account.headers, **JSON}) as resp:
        assert resp.status == 400
        _assert_error(await _json(resp), "INVALID_JSON")
    async with http.post(url, data=b"[1, 2]", headers={**account.headers, **JSON}) as resp:
        assert resp.status == 400
        _assert_error(await _json(resp), "INVALID_JSON")
    async with http.post(
        url, data=b"name=x", headers={**account.headers, "Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 415
        _assert_error(await _json(resp), "UNSUPPORTED_MEDIA_TYPE")
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024 + 10) + b'"}'
    async with http.post(url, data=big, headers={**account.headers, **JSON}) as resp:
        assert resp.status == 413
        _assert_error(await _json(resp), "PAYLOAD_TOO_LARGE")
    async with http.post(url, json={"name": 5}, headers=account.headers) as resp:
        assert resp.status == 400
        body = await _json(resp)
        _assert_error(body, "INVALID_PARAMETER")
        assert body["error"]["details"] == {"field": "name"}


async def test_unknown_route_and_method(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.gateway_url}/v1/nope", headers=account.headers) as resp:
        assert resp.status == 404
        _assert_error(await _json(resp), "NOT_FOUND")
    async with http.put(f"{stack.gateway_url}/v1/api-keys", headers=account.headers) as resp:
        assert resp.status == 405
        _assert_error(await _json(resp), "METHOD_NOT_ALLOWED")


async def test_read_only_key_cannot_write(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    url = f"{stack.gateway_url}/v1/api-keys"
    async with http.post(
        url, json={"name": "reader", "permissions": ["read"]}, headers=account.headers
    ) as resp:
        assert resp.status == 201
        reader = (await _json(resp))["data"]["api_key"]
    reader_headers = {"Authorization": f"Bearer {reader}"}
    async with http.get(url, headers=reader_headers) as resp:
        assert resp.status == 200
    async with http.post(url, json={"name": "x"}, headers=reader_headers) as resp:
        assert resp.status == 403
        _assert_error(await _json(resp), "INSUFFICIENT_PERMISSION")


async def test_key_cannot_grant_what_it_lacks(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    url = f"{stack.gateway_url}/v1/api-keys"
    async with http.post(
        url, json={"name": "writer", "permissions": ["write"]}, headers=account.headers
    ) as resp:
        writer = (await _json(resp))["data"]["api_key"]
    writer_headers = {"Authorization": f"Bearer {writer}"}
    body = {"name": "escalated", "permissions": ["read", "write"]}
    async with http.post(url, json=body, headers=writer_headers) as resp:
        assert resp.status == 403
        _assert_error(await _json(resp), "INSUFFICIENT_PERMISSION")


async def test_plan_without_api_access(stack: Stack, http: aiohttp.ClientSession) -> None:
    free = stack.create_account("free-plan", plan="free")
    async with http.get(f"{stack.gateway_url}/v1/account/usage", headers=free.headers) as resp:
        assert resp.status == 403
        _assert_error(await _json(resp), "API_NOT_AVAILABLE")


async def test_key_lifecycle_and_revocation_reaches_a_second_gateway(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    second, second_url = stack.start_gateway("gateway-2")
    second.wait_ready()
    url = f"{stack.gateway_url}/v1/api-keys"
    async with http.post(url, json={"name": "ci job"}, headers=account.headers) as resp:
        assert resp.status == 201
        created = (await _json(resp))["data"]
    secret, key_id = created["api_key"], created["key_id"]
    assert secret.startswith("sk_live_") and len(secret) >= 8 + 32
    assert created["prefix"] and secret.startswith(created["prefix"])

    async with http.get(url, headers=account.headers) as resp:
        raw = await resp.text()
        listed = {k["key_id"]: k for k in (await _json(resp))["data"]}
    assert key_id in listed and secret not in raw
    assert set(listed[key_id]) == {
        "key_id",
        "name",
        "permissions",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "rate_limit",
    }

    new_headers = {"Authorization": f"Bearer {secret}"}
    async with http.get(f"{second_url}/v1/account/usage", headers=new_headers) as resp:
        assert resp.status == 200  # cached by the second gateway now

    async with http.delete(f"{url}/{key_id}", headers=account.headers) as resp:
        assert resp.status == 200
    on_second = ApiClient(http, second_url, secret)

    async def refused_by_second() -> bool:
        return (await on_second.usage()).status == 401

    await eventually(refused_by_second, 1.0, "the revocation seen by the second gateway in 1 s")
    async with http.delete(f"{url}/{key_id}", headers=account.headers) as resp:
        assert resp.status == 404
        _assert_error(await _json(resp), "KEY_NOT_FOUND")
    second.stop()


async def test_other_accounts_key_is_not_found(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    other = stack.create_account("other")
    async with http.get(f"{stack.gateway_url}/v1/api-keys", headers=other.headers) as resp:
        other_key_id = (await _json(resp))["data"][0]["key_id"]
    async with http.delete(
        f"{stack.gateway_url}/v1/api-keys/{other_key_id}", headers=account.headers
    ) as resp:
        assert resp.status == 404
        _assert_error(await _json(resp), "KEY_NOT_FOUND")


async def test_expired_key_is_refused(api: ApiClient) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    created = await api.create_api_key({"name": "short", "expires_at": expires.isoformat()})
    short_lived = api.as_key(created.data(201)["api_key"])
    assert (await short_lived.usage()).status == 200

    async def refused() -> ApiResponse | None:
        resp = await short_lived.usage()
        return None if resp.status == 200 else resp

    # Polled slowly: only the last answer, the 401, counts as a failed authentication.
    resp = await eventually(refused, 10.0, "the key refused once expired", interval_s=0.2)
    assert resp.status == 401
    _assert_error(resp.envelope, "INVALID_API_KEY")


async def test_rate_limit_exact_with_headers(stack: Stack, http: aiohttp.ClientSession) -> None:
    limited = stack.create_account("limited", rate_limit=5)
    url = f"{stack.gateway_url}/v1/account/usage"
    remaining = []
    for _ in range(5):
        async with http.get(url, headers=limited.headers) as resp:
            assert resp.status == 200
            assert resp.headers["X-RateLimit-Limit"] == "5"
            remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
            reset = int(resp.headers["X-RateLimit-Reset"])
            assert time.time() < reset <= time.time() + 61
    assert remaining == [4, 3, 2, 1, 0]
    async with http.get(url, headers=limited.headers) as resp:
        assert resp.status == 429
        _assert_error(await _json(resp), "RATE_LIMIT_EXCEEDED")
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_rate_limit_shared_through_redis(stack: Stack, http: aiohttp.ClientSession) -> None:
    redis_env = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    a, url_a = stack.start_gateway("gateway-redis-a", redis_env)
    b, url_b = stack.start_gateway("gateway-redis-b", redis_env)
    a.wait_ready()
    b.wait_ready()
    limited = stack.create_account("shared-limit", rate_limit=6)
    statuses = []
    for i in range(6):
        async with http.get(
            f"{(url_a, url_b)[i % 2]}/v1/account/usage", headers=limited.headers
        ) as resp:
            statuses.append(resp.status)
            assert int(resp.headers["X-RateLimit-Remaining"]) == 5 - i
    assert statuses == [200] * 6
    for url in (url_a, url_b):
        async with http.get(f"{url}/v1/account/usage", headers=limited.headers) as resp:
            assert resp.status == 429
    a.stop()
    b.stop()


async def test_down_backend_is_503_not_a_hang(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    dead_keys = f"127.0.0.1:{free_port()}"
    gateway, url = stack.start_gateway(
        "gateway-no-keys", {"KEYS_ADDR": dead_keys, "RPC_TIMEOUT_S": "0.5"}
    )
    gateway.wait_ready()
    async with asyncio.timeout(5):  # an answer, not a hang
        resp = await ApiClient(http, url, account).usage()
    assert resp.status == 503
    _assert_error(resp.envelope, "SERVICE_UNAVAILABLE")
    gateway.stop()


@pytest.mark.parametrize("service", ["gateway", "render", "keys", "analytics", "redirect"])
def test_every_service_exposes_health_and_metrics(stack: Stack, service: str) -> None:
    process = next(p for p in stack.processes if p.name == service)
    try:
        urllib.request.urlopen(f"{stack.gateway_url}/v1/api-keys", timeout=5)
    except urllib.error.HTTPError as err:
        assert err.code == 401
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(
            f"http://127.0.0.1:{process.admin_port}{path}", timeout=2
        ) as resp:
            assert resp.status == 200
    with urllib.request.urlopen(
        f"http://127.0.0.1:{process.admin_port}/metrics", timeout=2
    ) as resp:
        text = resp.read().decode()
    if service == "gateway":
        assert 'qrforge_http_requests_total{method="GET",route="/v1/api-keys",status="401"}' in text
        assert "qrforge_http_request_duration_seconds_bucket" in text
    elif service == "redirect":
        assert "# TYPE qrforge_redirect_scans_total counter" in text
        assert "# TYPE qrforge_redirect_buffer_events gauge" in text
    else:
        assert "# TYPE qrforge_grpc_server_requests_total counter" in text
        assert "# TYPE qrforge_grpc_server_request_duration_seconds histogram" in text
