"""The whole life of a printed dynamic code, across every service as a process: create it,
scan it through the redirect service, repoint it, protect it, see the scans in the stats,
delete it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount, Stack

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


async def _stats(http: aiohttp.ClientSession, stack: Stack, account: ApiAccount, qr_id: str) -> Any:
    async with http.get(
        f"{stack.gateway_url}/v1/qrcodes/{qr_id}/stats", headers=account.headers
    ) as resp:
        return (await resp.json())["data"]


async def _scan(http: aiohttp.ClientSession, short_url: str, ip: str) -> aiohttp.ClientResponse:
    headers = {"User-Agent": PHONE, "X-Forwarded-For": ip}
    async with http.get(short_url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_print_scan_repoint_protect_count_delete(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    account = stack.create_account("journey")
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/dynamic",
        json={"name": "Campaign", "destination_url": "https://example.com/launch"},
        headers=account.headers,
    ) as resp:
        assert resp.status == 201
        code = (await resp.json())["data"]
    async with http.get(code["image_url"]) as resp:
        short_url = decode_single_qr(await resp.read())  # what a phone reads off the flyer
    assert short_url == code["short_url"]

    served = 0  # every 302 of a GET or a right password is exactly one scan
    for i in range(4):
        resp = await _scan(http, short_url, f"81.2.69.{160 + i}")
        served += 1
        assert resp.status == 302
        assert resp.headers["Location"] == "https://example.com/launch"
        assert resp.headers["Cache-Control"] == "no-store"
    async with http.head(short_url, allow_redirects=False) as resp:
        assert resp.status == 302  # not counted

    async with http.put(
        f"{stack.gateway_url}/v1/qrcodes/{code['qr_id']}/destination",
        json={"destination_url": "https://example.com/sale"},
        headers=account.headers,
    ) as resp:
        assert resp.status == 200
    changed_at = time.monotonic()
    while True:
        resp = await _scan(http, short_url, "81.2.69.170")
        served += 1
        if resp.headers["Location"] == "https://example.com/sale":
            break
        assert time.monotonic() - changed_at < 1.0, "destination change not live within 1 s"
        await asyncio.sleep(0.05)

    async with http.patch(
        f"{stack.gateway_url}/v1/qrcodes/{code['qr_id']}",
        json={"protection": {"password": "opensesame"}},
        headers=account.headers,
    ) as resp:
        assert resp.status == 200
    await asyncio.sleep(0.3)
    async with http.get(short_url, allow_redirects=False) as resp:
        assert resp.status == 200 and "password" in (await resp.text()).lower()
    async with http.post(short_url, data={"password": "wrong"}, allow_redirects=False) as resp:
        assert resp.status == 401
    async with http.post(
        short_url,
        data={"password": "opensesame"},
        headers={"User-Agent": PHONE, "X-Forwarded-For": "81.2.69.171"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302 and resp.headers["Location"] == "https://example.com/sale"
        served += 1

    for _ in range(100):
        stats = await _stats(http, stack, account, code["qr_id"])
        if stats["total_scans"] >= served:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # anything extra (a HEAD, a 200 form, a 401) would show up by now
    stats = await _stats(http, stack, account, code["qr_id"])
    assert stats["total_scans"] == served
    assert stats["devices"]["mobile"] == 100.0 and stats["os"]["android"] == 100.0
    assert stats["top_country"] == "GB"

    async with http.delete(
        f"{stack.gateway_url}/v1/qrcodes/{code['qr_id']}", headers=account.headers
    ) as resp:
        assert resp.status == 200
    deleted_at = time.monotonic()
    while True:
        async with http.get(short_url, allow_redirects=False) as resp:
            if resp.status == 404:
                break
        assert time.monotonic() - deleted_at < 1.0, "deleted code still redirects after 1 s"
        await asyncio.sleep(0.05)
