"""Dynamic QR codes through the gateway: create, repoint, protect, delete; catalog events."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiohttp
import pytest

from services.runtime.topics import CATALOG_EXCHANGE
from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount, Stack


@pytest.fixture
async def catalog_events(stack: Stack) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    connection = await aio_pika.connect_robust(stack.amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        CATALOG_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key="#")
    yield queue
    await connection.close()


async def _next_event(queue: aio_pika.abc.AbstractQueue) -> tuple[str, dict[str, Any]]:
    for _ in range(50):
        message = await queue.get(fail=False)
        if message is not None:
            await message.ack()
            return message.routing_key or "", json.loads(message.body)
        await asyncio.sleep(0.05)
    raise AssertionError("no catalog event within 2.5 s")


async def _create(
    http: aiohttp.ClientSession, stack: Stack, account: ApiAccount, body: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/dynamic", json=body, headers=account.headers
    ) as resp:
        payload: dict[str, Any] = await resp.json()
        assert resp.status == 201, payload
        data: dict[str, Any] = payload["data"]
        return data


async def test_create_repoint_patch_delete(
    stack: Stack,
    account: ApiAccount,
    http: aiohttp.ClientSession,
    catalog_events: aio_pika.abc.AbstractQueue,
) -> None:
    data = await _create(
        http,
        stack,
        account,
        {
            "name": "Flyer",
            "destination_url": "https://example.com/spring",
            "protection": {"password": "s3cret!", "expiry_date": "2099-12-31", "max_scans": 500},
        },
    )
    assert data["kind"] == "dynamic" and data["name"] == "Flyer"
    short_url = data["short_url"]
    assert re.fullmatch(re.escape(stack.redirect_url) + r"/[0-9A-Za-z]{7}", short_url)
    assert data["protection"] == {
        "password_protected": True,
        "expiry_date": "2099-12-31T23:59:59Z",
        "max_scans": 500,
    }
    assert data["total_scans"] == 0
    assert "s3cret" not in json.dumps(data)
    async with http.get(data["image_url"]) as resp:
        assert decode_single_qr(await resp.read()) == short_url

    qr_url = f"{stack.gateway_url}/v1/qrcodes/{data['qr_id']}"
    async with http.put(
        f"{qr_url}/destination",
        json={"destination_url": "https://example.com/summer"},
        headers=account.headers,
    ) as resp:
        assert resp.status == 200
        repointed = (await resp.json())["data"]
    assert repointed["destination_url"] == "https://example.com/summer"
    assert repointed["short_url"] == short_url  # the printed code never changes
    event, body = await _next_event(catalog_events)
    assert (
        event == "code.updated"
        and body["qr_id"] == data["qr_id"]
        and short_url.endswith(body["short_code"])
    )

    patch = {
        "active": False,
        "name": "Flyer (paused)",
        "protection": {"password": None, "max_scans": 0},
    }
    async with http.patch(qr_url, json=patch, headers=account.headers) as resp:
        patched = (await resp.json())["data"]
    assert patched["active"] is False and patched["name"] == "Flyer (paused)"
    assert (
        patched["protection"]["password_protected"] is False
        and patched["protection"]["max_scans"] == 0
    )
    assert (await _next_event(catalog_events))[0] == "code.updated"

    async with http.get(
        f"{stack.gateway_url}/v1/qrcodes", params={"kind": "dynamic"}, headers=account.headers
    ) as resp:
        assert data["qr_id"] in {c["qr_id"] for c in (await resp.json())["data"]}

    async with http.delete(qr_url, headers=account.headers) as resp:
        assert resp.status == 200
    event, body = await _next_event(catalog_events)
    assert event == "code.deleted" and body["qr_id"] == data["qr_id"]


async def test_errors(stack: Stack, account: ApiAccount, http: aiohttp.ClientSession) -> None:
    base = f"{stack.gateway_url}/v1/qrcodes"
    cases = [
        ({"name": "n", "destination_url": "javascript:alert(1)"}, "destination_url"),
        ({"destination_url": "https://e.com"}, "name"),
        ({"name": " ", "destination_url": "https://e.com"}, "name"),
        (
            {"name": "n", "destination_url": "https://e.com", "protection": {"max_scans": -1}},
            "protection.max_scans",
        ),
        (
            {
                "name": "n",
                "destination_url": "https://e.com",
                "protection": {"expiry_date": "soon"},
            },
            "protection.expiry_date",
        ),
        (
            {"name": "n", "destination_url": "https://e.com", "protection": {"password": ""}},
            "protection.password",
        ),
    ]
    for body, field in cases:
        async with http.post(f"{base}/dynamic", json=body, headers=account.headers) as resp:
            payload = await resp.json()
            assert resp.status == 400, payload
            assert payload["error"]["code"] == "INVALID_PARAMETER"
            assert payload["error"]["details"]["field"] == field

    async with http.post(
        f"{base}/generate", json={"type": "text", "content": "static"}, headers=account.headers
    ) as resp:
        static_id = (await resp.json())["data"]["qr_id"]
    async with http.put(
        f"{base}/{static_id}/destination",
        json={"destination_url": "https://e.com"},
        headers=account.headers,
    ) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "NOT_DYNAMIC"
    async with http.patch(
        f"{base}/{static_id}", json={"active": False}, headers=account.headers
    ) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "NOT_DYNAMIC"
    async with http.patch(
        f"{base}/{static_id}", json={"name": "renamed"}, headers=account.headers
    ) as resp:
        assert resp.status == 200 and (await resp.json())["data"]["name"] == "renamed"

    stranger = stack.create_account("dyn-stranger")
    data = await _create(
        http, stack, account, {"name": "mine", "destination_url": "https://example.com/mine"}
    )
    async with http.put(
        f"{base}/{data['qr_id']}/destination",
        json={"destination_url": "https://evil.example"},
        headers=stranger.headers,
    ) as resp:
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "QR_NOT_FOUND"
