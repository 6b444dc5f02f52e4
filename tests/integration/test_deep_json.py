"""Deeply nested JSON from clients, from outside: bodies (with and without an
``Idempotency-Key``), JSON query parameters and cursors are refused with a 400 past 32 levels,
never a 500."""

from __future__ import annotations

import base64
import time

import aiohttp
import pytest

from tests.support.stack import ApiAccount, Stack


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        _nested(990),  # json.loads' own recursion limit: a RecursionError, so a 500, before
        '{"type": "text", "content": "x", "design": ' + _nested(100) + "}",
        '{"type": "text", "content": "x", "metadata": ' + '{"a":' * 40 + "1" + "}" * 40 + "}",
    ],
    ids=["array-990", "array-100-in-object", "objects-40"],
)
@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency-key"])
async def test_deeply_nested_json_is_invalid_json(
    stack: Stack,
    account: ApiAccount,
    http: aiohttp.ClientSession,
    body: str,
    idempotent: bool,
) -> None:
    headers = {**account.headers, "Content-Type": "application/json"}
    if idempotent:
        headers["Idempotency-Key"] = f"deep-{time.time_ns()}"
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/generate", data=body, headers=headers
    ) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error["code"] == "INVALID_JSON"
    assert "32 levels" in error["message"]


async def test_json_nested_within_the_bound_is_accepted(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    # Under a key the API ignores (barcode metadata is flat since the spec became precise):
    # the body parses at 31 levels and the request succeeds.
    nested = '{"a":' * 30 + "1" + "}" * 30
    async with http.post(
        f"{stack.gateway_url}/v1/barcodes/generate",
        data='{"format":"EAN13","value":"590123412345","x_client_context":' + nested + "}",
        headers={**account.headers, "Content-Type": "application/json"},
    ) as resp:
        assert resp.status in (200, 201), await resp.text()


async def test_deep_json_in_query_parameters_is_a_400(
    stack: Stack, account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    # Past json.loads' recursion limit, yet short enough for aiohttp's 8 KiB request line.
    deep_content = '{"ssid":' + _nested(1100) + "}"
    async with http.get(
        f"{stack.gateway_url}/v1/qrcodes/generate",
        params={"type": "wifi", "content": deep_content},
        headers=account.headers,
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "INVALID_CONTENT"

    cursor = base64.urlsafe_b64encode(_nested(1100).encode()).decode().rstrip("=")
    async with http.get(
        f"{stack.gateway_url}/v1/qrcodes", params={"cursor": cursor}, headers=account.headers
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "INVALID_PARAMETER"
