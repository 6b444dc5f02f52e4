"""Webhooks end to end, every service a process: a receiver on 127.0.0.1 (allow-listed) gets
signed events that the ``standardwebhooks`` package verifies; scans become ``scan.created``,
code changes ``code.updated``/``code.deleted``; filters hold; failures are retried until they
succeed, each ``webhook-id`` accepted once; a SIGKILLed webhooks service loses nothing."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.integration.conftest import WEBHOOKS_TEST_ENV
from tests.support.api_client import ApiClient
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SCAN_FIELDS = {
    "qr_id", "scanned_at", "country", "city", "device", "os", "browser", "referrer_host",
    "bot", "rule", "variant",
}  # fmt: skip


async def _scan(http: aiohttp.ClientSession, short_url: str, ip: str = "81.2.69.160") -> None:
    headers = {"User-Agent": PHONE, "X-Forwarded-For": ip, "Referer": "https://news.example/x"}
    async with http.get(short_url, headers=headers, allow_redirects=False) as resp:
        assert resp.status == 302


async def _dynamic(owner: ApiClient, name: str = "Poster") -> dict[str, Any]:
    body = {"name": name, "destination_url": "https://example.com/a"}
    data: dict[str, Any] = (await owner.create_dynamic(body)).data(201)
    return data


async def _webhook(
    owner: ApiClient, receiver: WebhookReceiver, events: list[str], **extra: Any
) -> dict[str, Any]:
    created = await owner.request(
        "POST", "/v1/webhooks", json_body={"url": receiver.url, "events": events, **extra}
    )
    data: dict[str, Any] = created.data(201)
    receiver.secret = data["secret"]
    return data


async def test_scans_and_code_changes_arrive_signed_and_filtered(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    owner = api.as_account(stack.create_account("webhooks-main"))
    code, other = await _dynamic(owner), await _dynamic(owner, "Other")
    async with webhook_receiver() as everything, webhook_receiver() as filtered:
        hook = await _webhook(
            owner, everything, ["scan.created", "code.updated", "code.deleted"],
            description="CRM",
        )  # fmt: skip
        assert hook["secret"].startswith("whsec_") and hook["active"] is True
        assert hook["webhook_id"].startswith("wh_")
        await _webhook(owner, filtered, ["code.updated"], qr_ids=[other["qr_id"]])

        for i in range(3):
            await _scan(http, code["short_url"], f"81.2.69.{160 + i}")
        scans = await eventually(
            lambda: _at_least(everything.events("scan.created"), 3), 30, "3 scan.created"
        )
        for event in scans:
            assert set(event["data"]) == SCAN_FIELDS
            assert event["data"]["qr_id"] == code["qr_id"]
            assert event["data"]["device"] == "mobile" and event["data"]["bot"] is False
            assert event["data"]["referrer_host"] == "news.example"
        assert "81.2.69" not in json.dumps(scans)  # never an IP
        assert everything.bad_signatures == 0

        await owner.set_destination(code["qr_id"], "https://example.com/b")
        await owner.set_destination(other["qr_id"], "https://example.com/c")
        assert (await owner.delete_code(code["qr_id"])).status == 200
        await eventually(lambda: _at_least(everything.events("code.deleted"), 1), 10, "deleted")
        updated = await eventually(
            lambda: _at_least(everything.events("code.updated"), 2), 10, "2 code.updated"
        )
        assert {e["data"]["qr_id"] for e in updated} == {code["qr_id"], other["qr_id"]}
        only = await eventually(lambda: _at_least(filtered.events("code.updated"), 1), 10, "filter")
        assert [e["data"]["qr_id"] for e in only] == [other["qr_id"]]
        assert not filtered.events("scan.created") and not filtered.events("code.deleted")

        # The secret is shown once; the delivery log tells what happened.
        listed = (await owner.request("GET", "/v1/webhooks")).data()
        assert len(listed) == 2 and all("secret" not in w for w in listed)

        async def all_delivered() -> list[dict[str, Any]] | None:
            log = await _deliveries(owner, hook["webhook_id"])
            return log if {d["status"] for d in log} == {"delivered"} else None

        log = await eventually(all_delivered, 10, "the log showing every delivery delivered")
        assert {d["delivery_id"] for d in log} == set(everything.accepted)

        # Another account sees none of it.
        stranger = api.as_account(stack.create_account("webhooks-stranger"))
        missing = await stranger.request("GET", f"/v1/webhooks/{hook['webhook_id']}")
        assert (missing.status, missing.error_code) == (404, "WEBHOOK_NOT_FOUND")


async def test_every_code_a_batch_creates_is_announced(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("webhooks-batch"))
    async with webhook_receiver() as receiver:
        await _webhook(owner, receiver, ["code.created"])
        items = [
            {"type": "text", "content": "one"},
            {"kind": "dynamic", "name": "Two", "destination_url": "https://example.com/2"},
            {"type": "url", "content": "not a url"},  # fails: no event
        ]
        answer = await owner.request("POST", "/v1/qrcodes/batch", json_body={"items": items})
        created = {r["data"]["qr_id"]: r["data"]["kind"] for r in answer.data()["results"]
                   if r["success"]}  # fmt: skip
        assert len(created) == 2
        events = await eventually(
            lambda: _at_least(receiver.events("code.created"), 2), 10, "2 code.created"
        )
        assert {e["data"]["qr_id"]: e["data"]["kind"] for e in events} == created
        assert receiver.bad_signatures == 0


async def test_a_slow_receiver_is_waited_for_and_a_too_slow_one_retried(
    stack: Stack, api: ApiClient
) -> None:
    """The delivery deadline is 10 s: an endpoint answering in 9 s gets its event delivered at
    the first attempt; one answering in 11 s is cut off and retried, never counted delivered."""
    owner = api.as_account(stack.create_account("webhooks-slow"))
    async with webhook_receiver() as slow, webhook_receiver() as too_slow:
        slow.hold_s, too_slow.hold_s = 9.0, 11.0
        hooks = [await _webhook(owner, receiver, ["code.updated"]) for receiver in (slow, too_slow)]
        for hook in hooks:
            sent = await owner.request("POST", f"/v1/webhooks/{hook['webhook_id']}/test")
            assert sent.status == 202

        async def first_attempts_over() -> list[list[dict[str, Any]]] | None:
            logs = [await _deliveries(owner, hook["webhook_id"]) for hook in hooks]
            done = all(log and log[0]["attempts"] >= 1 for log in logs)
            return logs if done else None

        waited, cut = await eventually(first_attempts_over, 30, "one attempt to each endpoint")
        assert (waited[0]["status"], waited[0]["attempts"]) == ("delivered", 1)
        assert waited[0]["last_status_code"] == 200 and len(slow.accepted) == 1
        assert cut[0]["status"] == "pending" and cut[0]["last_status_code"] is None
        assert "10 s" in cut[0]["last_error"] and not too_slow.accepted


async def test_failures_are_retried_until_accepted_once_each(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    owner = api.as_account(stack.create_account("webhooks-retry"))
    code = await _dynamic(owner)
    async with webhook_receiver() as receiver:
        failing = {"on": True}
        receiver.answer = lambda _id: 500 if failing["on"] else 200
        hook = await _webhook(owner, receiver, ["scan.created"])
        for i in range(4):
            await _scan(http, code["short_url"], f"81.2.69.{170 + i}")
        await eventually(lambda: _at_least(list(set(receiver.attempts)), 4), 30, "4 attempts")
        await eventually(lambda: _at_least(receiver.attempts, 8), 30, "retries")

        async def all_pending_after_a_500() -> bool:
            log = await _deliveries(owner, hook["webhook_id"])
            return len(log) == 4 and all(
                d["status"] == "pending" and d["last_status_code"] == 500 and d["next_attempt_at"]
                for d in log
            )

        await eventually(all_pending_after_a_500, 10, "the log showing pending retries")
        failing["on"] = False
        await eventually(lambda: _at_least(list(receiver.accepted), 4), 30, "all 4 accepted")
        assert receiver.accepted_twice == []
        # Same webhook-id on every attempt of an event.
        assert set(receiver.attempts) == set(receiver.accepted)

        # A manual retry sends the same event again, with the same id.
        first = sorted(receiver.accepted)[0]
        retried = await owner.request(
            "POST", f"/v1/webhooks/{hook['webhook_id']}/deliveries/{first}/retry"
        )
        assert retried.status == 202
        await eventually(lambda: _true(receiver.accepted_twice == [first]), 10, "manual retry")

        # The test event reaches the endpoint whatever its filters.
        sent = await owner.request("POST", f"/v1/webhooks/{hook['webhook_id']}/test")
        assert sent.data(202)["event_type"] == "webhook.test"
        await eventually(lambda: _at_least(receiver.events("webhook.test"), 1), 10, "test event")


async def test_410_disables_the_endpoint(stack: Stack, api: ApiClient) -> None:
    owner = api.as_account(stack.create_account("webhooks-gone"))
    async with webhook_receiver() as receiver:
        receiver.answer = lambda _id: 410
        hook = await _webhook(owner, receiver, ["code.updated"])
        await owner.request("POST", f"/v1/webhooks/{hook['webhook_id']}/test")

        async def disabled() -> dict[str, Any] | None:
            got = (await owner.request("GET", f"/v1/webhooks/{hook['webhook_id']}")).data()
            return got if got["active"] is False else None

        assert (await eventually(disabled, 10, "disabled"))["disabled_reason"] == "gone"


async def test_endpoint_urls_must_be_public_https(api: ApiClient, stack: Stack) -> None:
    owner = api.as_account(stack.create_account("webhooks-urls"))
    for url in ("http://example.com/hook", "https://10.0.0.1/hook", "https://u:p@example.com/"):
        refused = await owner.request(
            "POST", "/v1/webhooks", json_body={"url": url, "events": ["scan.created"]}
        )
        assert (refused.status, refused.error_code) == (400, "INVALID_PARAMETER"), url
        assert refused.envelope["error"]["details"]["field"] == "url"
    unknown = await owner.request(
        "POST", "/v1/webhooks", json_body={"url": "https://example.com", "events": ["nope"]}
    )
    assert unknown.envelope["error"]["details"]["field"] == "events"


async def test_a_killed_webhooks_service_loses_nothing(
    stack: Stack, api: ApiClient, http: aiohttp.ClientSession
) -> None:
    owner = api.as_account(stack.create_account("webhooks-kill"))
    code = await _dynamic(owner)
    webhooks = next(p for p in stack.processes if p.name == "webhooks")
    async with webhook_receiver() as receiver:
        receiver.hold_s = 1.5  # answers slowly: the kill lands while requests are in flight
        await _webhook(owner, receiver, ["scan.created"])
        for i in range(5):
            await _scan(http, code["short_url"], f"81.2.69.{180 + i}")
        await eventually(lambda: _at_least(receiver.attempts, 1), 30, "a delivery in flight")
        webhooks.kill()
        receiver.hold_s = 0.0
        webhooks.start()
        webhooks.wait_ready()
        lease = float(WEBHOOKS_TEST_ENV["WEBHOOK_LEASE_S"])
        await eventually(lambda: _at_least(list(receiver.accepted), 5), lease + 20, "all 5")
        # The attempts cut by the kill were sent again once their lease ran out, with the same
        # webhook-id: every attempt was one of the five events.
        assert receiver.dropped >= 1
        assert set(receiver.attempts) == set(receiver.accepted)


async def _deliveries(owner: ApiClient, webhook_id: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = (
        await owner.request("GET", f"/v1/webhooks/{webhook_id}/deliveries")
    ).data()
    return log


async def _at_least(items: list[Any], count: int) -> list[Any] | None:
    return list(items) if len(items) >= count else None


async def _true(value: bool) -> bool:
    return value
