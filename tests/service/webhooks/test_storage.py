"""The webhooks service's SQL on a throw-away database (its own migrations only): the
durable retry state, deduplication of redelivered events, leases, disabling, retention."""

from __future__ import annotations

import os
from typing import Any

from services.webhooks.endpoint_secrets import SecretBox
from services.webhooks.records import NewDelivery
from services.webhooks.storage import WebhookStore

BOX = SecretBox(os.urandom(32))


async def _endpoint(store: WebhookStore, webhook_id: str, account_id: str = "acc_1") -> None:
    created = await store.insert_webhook(
        webhook_id, account_id, "https://example.com/h", ["scan.created"], [], "",
        BOX.seal("whsec_x", webhook_id), 20,
    )  # fmt: skip
    assert created is not None


def _delivery(
    delivery_id: str, webhook_id: str, event_id: str, account_id: str = "acc_1"
) -> NewDelivery:
    return NewDelivery(delivery_id, webhook_id, account_id, event_id, "scan.created", b"{}")


async def test_a_redelivered_event_is_one_delivery_and_leases_run_out(pool: Any) -> None:
    store = WebhookStore(pool)
    await _endpoint(store, "wh_dedupe")
    first = await store.insert_deliveries([_delivery("msg_a1", "wh_dedupe", "evt_1")], 0.0)
    again = await store.insert_deliveries([_delivery("msg_a2", "wh_dedupe", "evt_1")], 0.0)
    assert [d.delivery_id for d in first] == ["msg_a1"] and again == []
    # Inserted with a lease of 0 s: due at once, as after a crash mid-attempt.
    claimed = await store.claim_due(10, 60.0)
    assert [d.delivery_id for d in claimed] == ["msg_a1"]
    assert claimed[0].url == "https://example.com/h" and claimed[0].active
    assert await store.claim_due(10, 60.0) == []  # leased now


async def test_an_endpoint_failing_past_the_limit_is_disabled(pool: Any) -> None:
    store = WebhookStore(pool)
    await _endpoint(store, "wh_failing", "acc_2")
    assert await store.endpoints_failed(["wh_failing"], 3600.0) == []  # clock starts
    assert await store.endpoints_failed(["wh_failing"], 3600.0) == []  # not 3 days yet
    await pool.execute(
        "UPDATE webhooks SET failing_since = now() - interval '3 days 1 second'"
        " WHERE webhook_id = 'wh_failing'"
    )
    assert await store.endpoints_failed(["wh_failing"], 3 * 86400.0) == [("wh_failing", "acc_2")]
    hook = await store.get_webhook("acc_2", "wh_failing")
    assert hook is not None and not hook.active and hook.disabled_reason == "failing"
    assert (await store.active_filters(["acc_2"]))["acc_2"] == []
    # Turned on again by its owner: a fresh start.
    revived = await store.update_webhook("acc_2", "wh_failing", {"active": True})
    assert revived is not None and revived.active and revived.disabled_reason == ""


async def test_a_success_stops_the_failure_clock(pool: Any) -> None:
    store = WebhookStore(pool)
    await _endpoint(store, "wh_flaky", "acc_3")
    await store.endpoints_failed(["wh_flaky"], 0.0)
    await store.endpoints_succeeded(["wh_flaky"])
    # Failing again after a success: the clock restarts, nothing is disabled.
    assert await store.endpoints_failed(["wh_flaky"], 0.0) == []


async def test_other_accounts_see_nothing(pool: Any) -> None:
    store = WebhookStore(pool)
    await _endpoint(store, "wh_mine", "acc_4")
    assert await store.get_webhook("acc_other", "wh_mine") is None
    assert await store.update_webhook("acc_other", "wh_mine", {"active": False}) is None
    assert not await store.delete_webhook("acc_other", "wh_mine")
    assert await store.retry_delivery("acc_other", "wh_mine", "msg_a1") is None


async def test_finished_deliveries_older_than_the_log_are_purged(pool: Any) -> None:
    store = WebhookStore(pool)
    await _endpoint(store, "wh_old", "acc_5")
    await store.insert_deliveries([_delivery("msg_old", "wh_old", "evt_old", "acc_5")], 60.0)
    await store.insert_deliveries([_delivery("msg_pend", "wh_old", "evt_pend", "acc_5")], 60.0)
    await pool.execute(
        "UPDATE webhook_deliveries SET created_at = now() - interval '31 days',"
        " status = CASE delivery_id WHEN 'msg_old' THEN 'delivered' ELSE 'pending' END"
        " WHERE webhook_id = 'wh_old'"
    )
    assert await store.purge_deliveries(30) == 1
    left, total = await store.list_deliveries("acc_5", "wh_old", limit=10, offset=0)
    assert total == 1 and left[0].delivery_id == "msg_pend"  # pending ones stay
