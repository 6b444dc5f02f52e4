"""The endpoint failure clock as the dispatcher keeps it: a failure starts it, the next success
after a failure always stops it, and successes in a row do not rewrite it at every flush."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoint_secrets import SecretBox
from services.webhooks.http_delivery import AttemptResult, HttpSender
from services.webhooks.records import ClaimedDelivery
from services.webhooks.retry_schedule import RetrySchedule
from services.webhooks.storage import WebhookStore


class Store:
    """Records what the dispatcher asks of the endpoint rows."""

    def __init__(self) -> None:
        self.cleared: list[list[str]] = []
        self.failed: list[list[str]] = []

    async def record_outcomes(self, outcomes: Sequence[object]) -> None:
        return None

    async def endpoints_succeeded(self, webhook_ids: Sequence[str]) -> None:
        self.cleared.append(list(webhook_ids))

    async def endpoints_failed(
        self, webhook_ids: Sequence[str], disable_after_s: float
    ) -> list[tuple[str, str]]:
        self.failed.append(list(webhook_ids))
        return []

    async def endpoints_gone(self, webhook_ids: Sequence[str]) -> list[tuple[str, str]]:
        return []


def delivery(n: int, webhook_id: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        f"msg_{n}", webhook_id, "acc_1", "scan.created", b"{}", 0, datetime.now(UTC),
        "https://example.com/h", b"", True,
    )  # fmt: skip


async def test_the_failure_clock_stops_after_each_failure_and_is_not_rewritten_meanwhile() -> None:
    store = Store()
    dispatcher = Dispatcher(
        cast(WebhookStore, store),
        cast(HttpSender, object()),
        SecretBox(os.urandom(32)),
        RetrySchedule((5.0,), 60.0, 3600.0),
        per_endpoint_concurrency=1,
        max_in_flight=1,
        lease_s=60.0,
        poll_s=1.0,
        disable_after_s=3600.0,
    )
    ok, failed = AttemptResult(200, ""), AttemptResult(500, "HTTP 500")

    async def flush(*attempts: tuple[int, str, AttemptResult]) -> None:
        for n, webhook_id, result in attempts:
            dispatcher._record(delivery(n, webhook_id), result, final=False)
        await dispatcher._flush()

    await flush((1, "wh_a", ok), (2, "wh_b", ok))
    await flush((3, "wh_a", ok), (4, "wh_b", ok))  # nothing to clear: cleared just now
    await flush((5, "wh_a", failed))
    await flush((6, "wh_a", ok), (7, "wh_b", ok))  # wh_a failed since: cleared again
    assert store.failed == [["wh_a"]]
    assert store.cleared == [["wh_a", "wh_b"], ["wh_a"]]
