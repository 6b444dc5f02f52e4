"""Dynamic QR codes through the gateway: create, repoint, protect, delete; catalog events."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from services.runtime.topics import CATALOG_EXCHANGE
from tests.support.api_client import ApiClient
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
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
    message = await eventually(lambda: queue.get(fail=False), 2.5, "a catalog event")
    await message.ack()
    return message.routing_key or "", json.loads(message.body)


async def test_create_repoint_patch_delete(
    stack: Stack,
    api: ApiClient,
    account: ApiAccount,
    catalog_events: aio_pika.abc.AbstractQueue,
) -> None:
    data = (
        await api.create_dynamic(
            {
                "name": "Flyer",
                "destination_url": "https://example.com/spring",
                "protection": {
                    "password": "s3cret!",
                    "expiry_date": "2099-12-31",
                    "max_scans": 500,
                },
            }
        )
    ).data(201)
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
    assert decode_single_qr((await api.fetch(data["image_url"])).body) == short_url

    event, body = await _next_event(catalog_events)
    assert event == "code.created" and body["qr_id"] == data["qr_id"]
    assert body["account_id"] == account.account_id and body["kind"] == "dynamic"

    repointed = (await api.set_destination(data["qr_id"], "https://example.com/summer")).data()
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
    patched = (await api.patch_code(data["qr_id"], patch)).envelope["data"]
    assert patched["active"] is False and patched["name"] == "Flyer (paused)"
    assert (
        patched["protection"]["password_protected"] is False
        and patched["protection"]["max_scans"] == 0
    )
    assert (await _next_event(catalog_events))[0] == "code.updated"

    listed = (await api.list_codes(kind="dynamic")).envelope["data"]
    assert data["qr_id"] in {c["qr_id"] for c in listed}

    assert (await api.delete_code(data["qr_id"])).status == 200
    event, body = await _next_event(catalog_events)
    assert event == "code.deleted" and body["qr_id"] == data["qr_id"]


async def test_errors(stack: Stack, api: ApiClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
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
        resp = await api.create_dynamic(body)
        assert resp.status == 400, resp.text
        assert resp.error_code == "INVALID_PARAMETER"
        assert resp.envelope["error"]["details"]["field"] == field

    static_id = (await api.generate({"type": "text", "content": "static"})).envelope["data"][
        "qr_id"
    ]
    resp = await api.set_destination(static_id, "https://e.com")
    assert resp.status == 400 and resp.error_code == "NOT_DYNAMIC"
    resp = await api.patch_code(static_id, {"active": False})
    assert resp.status == 400 and resp.error_code == "NOT_DYNAMIC"
    resp = await api.patch_code(static_id, {"name": "renamed"})
    assert resp.status == 200 and resp.envelope["data"]["name"] == "renamed"

    stranger = api.as_account(stack.create_account("dyn-stranger"))
    data = (
        await api.create_dynamic({"name": "mine", "destination_url": "https://example.com/mine"})
    ).data(201)
    resp = await stranger.set_destination(data["qr_id"], "https://evil.example")
    assert resp.status == 404 and resp.error_code == "QR_NOT_FOUND"
