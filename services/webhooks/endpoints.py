"""Endpoint management, as the gateway asks for it over gRPC: validate, store, and keep the
intake's cache and the dispatcher in step. Every operation is scoped to an account; an id of
another account is ``WEBHOOK_NOT_FOUND``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.runtime.errors import ApiError
from services.runtime.ids import new_id
from services.runtime.public_addresses import Resolve
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoint_directory import EndpointDirectory
from services.webhooks.endpoint_secrets import SecretBox, new_secret
from services.webhooks.events import EVENT_TYPES, test_event
from services.webhooks.records import Delivery, NewDelivery, Webhook
from services.webhooks.storage import WebhookStore
from services.webhooks.url_safety import check_endpoint_url

MAX_WEBHOOKS_PER_ACCOUNT: Final = 20
MAX_QR_IDS: Final = 100
MAX_DESCRIPTION_CHARS: Final = 500
_QR_ID: Final = re.compile(r"qr_[A-Za-z0-9]{1,60}")


def _not_found() -> ApiError:
    return ApiError("WEBHOOK_NOT_FOUND", "No webhook with this id in your account")


def checked_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise ApiError("INVALID_PARAMETER", "events must name at least one event", field="events")
    for event in events:
        if event not in EVENT_TYPES:
            raise ApiError(
                "INVALID_PARAMETER",
                f"unknown event {event[:40]!r}: use {', '.join(EVENT_TYPES)}",
                field="events",
            )
    return sorted(set(events), key=EVENT_TYPES.index)


def checked_qr_ids(qr_ids: Sequence[str]) -> list[str]:
    if len(qr_ids) > MAX_QR_IDS:
        raise ApiError(
            "INVALID_PARAMETER", f"qr_ids holds at most {MAX_QR_IDS} ids", field="qr_ids"
        )
    for qr_id in qr_ids:
        if not _QR_ID.fullmatch(qr_id):
            raise ApiError("INVALID_PARAMETER", "qr_ids must be QR code ids", field="qr_ids")
    return sorted(set(qr_ids))


def checked_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ApiError(
            "INVALID_PARAMETER",
            f"description must be at most {MAX_DESCRIPTION_CHARS} characters",
            field="description",
        )
    return description


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """A PATCH: None means "unchanged"."""

    url: str | None = None
    description: str | None = None
    active: bool | None = None
    events: Sequence[str] | None = None
    qr_ids: Sequence[str] | None = None


class Endpoints:
    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        directory: EndpointDirectory,
        dispatcher: Dispatcher,
        *,
        allowlist: Sequence[str],
        lease_s: float,
        resolve: Resolve | None = None,
    ) -> None:
        self._store = store
        self._box = box
        self._directory = directory
        self._dispatcher = dispatcher
        self._allowlist = tuple(allowlist)
        self._lease_s = lease_s
        self._resolve = resolve

    async def create(
        self,
        account_id: str,
        url: str,
        events: Sequence[str],
        qr_ids: Sequence[str],
        description: str,
    ) -> tuple[Webhook, str]:
        """The endpoint and its secret (which is never returned again)."""
        checked = (checked_events(events), checked_qr_ids(qr_ids), checked_description(description))
        safe_url = await check_endpoint_url(url, self._allowlist, self._resolve)
        webhook_id, secret = new_id("wh"), new_secret()
        webhook = await self._store.insert_webhook(
            webhook_id,
            account_id,
            safe_url,
            *checked,
            self._box.seal(secret, webhook_id),
            MAX_WEBHOOKS_PER_ACCOUNT,
        )
        if webhook is None:
            raise ApiError(
                "QUOTA_EXCEEDED", f"An account has at most {MAX_WEBHOOKS_PER_ACCOUNT} webhooks"
            )
        self._directory.evict(account_id)
        return webhook, secret

    async def list_webhooks(
        self, account_id: str, limit: int, offset: int
    ) -> tuple[list[Webhook], int]:
        return await self._store.list_webhooks(account_id, limit=limit, offset=offset)

    async def get(self, account_id: str, webhook_id: str) -> Webhook:
        webhook = await self._store.get_webhook(account_id, webhook_id)
        if webhook is None:
            raise _not_found()
        return webhook

    async def update(self, account_id: str, webhook_id: str, changes: WebhookChanges) -> Webhook:
        columns: dict[str, Any] = {}
        if changes.events is not None:
            columns["events"] = checked_events(changes.events)
        if changes.qr_ids is not None:
            columns["qr_ids"] = checked_qr_ids(changes.qr_ids)
        if changes.description is not None:
            columns["description"] = checked_description(changes.description)
        if changes.active is not None:
            columns["active"] = changes.active
        if changes.url is not None:
            columns["url"] = await check_endpoint_url(changes.url, self._allowlist, self._resolve)
        if not columns:
            return await self.get(account_id, webhook_id)
        webhook = await self._store.update_webhook(account_id, webhook_id, columns)
        if webhook is None:
            raise _not_found()
        self._directory.evict(account_id)
        return webhook

    async def delete(self, account_id: str, webhook_id: str) -> None:
        if not await self._store.delete_webhook(account_id, webhook_id):
            raise _not_found()
        self._directory.evict(account_id)

    async def send_test(self, account_id: str, webhook_id: str) -> Delivery:
        await self.get(account_id, webhook_id)
        event = test_event(account_id, webhook_id)
        delivery = NewDelivery(
            new_id("msg"), webhook_id, account_id, event.event_id, event.event_type, event.body
        )
        claimed = await self._store.insert_deliveries([delivery], self._lease_s)
        self._dispatcher.submit(claimed)
        return Delivery(
            delivery_id=delivery.delivery_id,
            webhook_id=webhook_id,
            event_type=event.event_type,
            status="pending",
            attempts=0,
            last_status_code=None,
            last_error="",
            next_attempt_at=None,
            created_at=claimed[0].created_at,
        )

    async def deliveries(
        self, account_id: str, webhook_id: str, limit: int, offset: int
    ) -> tuple[list[Delivery], int]:
        await self.get(account_id, webhook_id)
        return await self._store.list_deliveries(account_id, webhook_id, limit=limit, offset=offset)

    async def retry(self, account_id: str, webhook_id: str, delivery_id: str) -> Delivery:
        delivery = await self._store.retry_delivery(account_id, webhook_id, delivery_id)
        if delivery is None:
            await self.get(account_id, webhook_id)  # WEBHOOK_NOT_FOUND before the delivery
            raise ApiError("DELIVERY_NOT_FOUND", "No delivery with this id for this webhook")
        self._dispatcher.wake()
        return delivery
