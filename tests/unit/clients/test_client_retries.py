"""The SDK clients' retry loop over a scripted transport: what is resent, after which wait,
with which Idempotency-Key, and what is raised once the retries are spent."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from qrforge.client import (
    AsyncClient,
    Client,
    NetworkError,
    NotFoundError,
    RetryPolicy,
    ServerError,
)

USAGE = {
    "plan": "pro",
    "rate_limit": {"limit": 5000, "remaining": 4999, "reset": 1773311460},
    "qr_codes": {"used": 1, "limit": 100000},
    "barcodes": {"used": 0},
    "scans_this_month": 0,
}
Script = list[Callable[[httpx.Request], httpx.Response]]


def _ok(data: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(200, json={"success": True, "data": data})


def _status(
    status: int, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, headers=headers, content=body)
        error = {"code": "SERVICE_UNAVAILABLE", "message": "try again", "details": None}
        return httpx.Response(status, headers=headers, json={"success": False, "error": error})

    return answer


def _raise(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error("scripted", request=request)

    return answer


class Scripted:
    def __init__(self, script: Script) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.script.pop(0)(request)


def _client(script: Scripted, waits: list[float], retries: int = 3) -> Client:
    return Client(
        "sk_test",
        "http://api.test",
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(max_retries=retries, max_delay_s=30),
        sleep=waits.append,
    )


def test_503_is_retried_after_retry_after_then_succeeds() -> None:
    script = Scripted([_status(503, {"Retry-After": "2"}), _status(503), _ok(USAGE)])
    waits: list[float] = []
    with _client(script, waits) as client:
        assert client.usage().plan == "pro"
    assert len(script.requests) == 3
    assert waits[0] == 2 and 0 <= waits[1] <= 1  # told, then backoff with jitter


def test_spent_retries_raise_the_api_error_or_the_status() -> None:
    script = Scripted([_status(502, body=b"<html>bad gateway</html>")] * 3)
    waits: list[float] = []
    with _client(script, waits, retries=2) as client, pytest.raises(ServerError) as raised:
        client.usage()
    assert raised.value.code == "HTTP_502" and "bad gateway" in raised.value.message
    assert len(script.requests) == 3


def test_a_404_is_not_retried() -> None:
    error = {"code": "QR_NOT_FOUND", "message": "No QR code qr_x", "details": None}
    script = Scripted([lambda _: httpx.Response(404, json={"success": False, "error": error})])
    with _client(script, []) as client, pytest.raises(NotFoundError) as raised:
        client.get_qr_code("qr_x")
    assert raised.value.code == "QR_NOT_FOUND" and len(script.requests) == 1


def test_a_lost_answer_to_a_patch_is_not_resent() -> None:
    script = Scripted([_raise(httpx.ReadError)])
    with _client(script, []) as client, pytest.raises(NetworkError):
        client.update_qr_code("qr_x", name="n")
    assert len(script.requests) == 1


def test_a_post_is_resent_with_the_same_idempotency_key() -> None:
    created: dict[str, object] = {"key_id": "key_1", "name": "n", "prefix": "sk_live_a"}
    created |= {"permissions": ["read"], "created_at": None, "last_used_at": None}
    created |= {"expires_at": None, "api_key": "sk"}
    script = Scripted([_raise(httpx.ConnectError), _raise(httpx.ReadError), _ok(created)])
    with _client(script, []) as client:
        assert client.create_api_key("n", ["read"]).api_key == "sk"
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(keys) == 1 and len(script.requests) == 3
    assert json.loads(script.requests[2].content) == {"name": "n", "permissions": ["read"]}


async def test_async_client_waits_for_the_rate_limit_reset() -> None:
    script = Scripted(
        [_status(429, {"X-RateLimit-Reset": "4102444800"}), _ok(USAGE)]  # far future: capped
    )
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncClient(
        "sk_test",
        "http://api.test",
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(max_delay_s=7),
        sleep=wait,
    ) as client:
        assert (await client.usage()).plan == "pro"
    assert waits == [7]
    assert script.requests[0].headers["Authorization"] == "Bearer sk_test"
