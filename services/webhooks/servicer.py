"""gRPC transport of the webhooks service: messages in, plain values to :class:`Endpoints`,
messages out. A raised ApiError becomes a status + ``qrforge-error-code`` in the interceptor.
The secret appears in one message only, CreateWebhookResponse."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from qrforge.v1 import webhooks_pb2, webhooks_pb2_grpc
from services.webhooks.endpoints import Endpoints, WebhookChanges
from services.webhooks.records import Delivery, Webhook

MAX_PAGE: Final = 100


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _page(limit: int, offset: int) -> tuple[int, int]:
    return min(max(limit, 1), MAX_PAGE), max(offset, 0)


def webhook_message(webhook: Webhook) -> webhooks_pb2.Webhook:
    return webhooks_pb2.Webhook(
        webhook_id=webhook.webhook_id,
        account_id=webhook.account_id,
        url=webhook.url,
        events=list(webhook.events),
        qr_ids=list(webhook.qr_ids),
        description=webhook.description,
        active=webhook.active,
        created_at=_timestamp(webhook.created_at),
        disabled_reason=webhook.disabled_reason,
    )


def delivery_message(delivery: Delivery) -> webhooks_pb2.Delivery:
    message = webhooks_pb2.Delivery(
        delivery_id=delivery.delivery_id,
        webhook_id=delivery.webhook_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code or 0,
        last_error=delivery.last_error,
        created_at=_timestamp(delivery.created_at),
    )
    if delivery.next_attempt_at is not None:
        message.next_attempt_at.CopyFrom(_timestamp(delivery.next_attempt_at))
    return message


class WebhooksServicer(webhooks_pb2_grpc.WebhooksServiceServicer):
    def __init__(self, endpoints: Endpoints) -> None:
        self._endpoints = endpoints

    async def CreateWebhook(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.CreateWebhookRequest, context: object
    ) -> webhooks_pb2.CreateWebhookResponse:
        webhook, secret = await self._endpoints.create(
            request.account_id,
            request.url,
            list(request.events),
            list(request.qr_ids),
            request.description,
        )
        return webhooks_pb2.CreateWebhookResponse(webhook=webhook_message(webhook), secret=secret)

    async def ListWebhooks(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.ListWebhooksRequest, context: object
    ) -> webhooks_pb2.ListWebhooksResponse:
        limit, offset = _page(request.limit, request.offset)
        webhooks, total = await self._endpoints.list_webhooks(request.account_id, limit, offset)
        return webhooks_pb2.ListWebhooksResponse(
            webhooks=[webhook_message(webhook) for webhook in webhooks], total=total
        )

    async def GetWebhook(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.WebhookRef, context: object
    ) -> webhooks_pb2.Webhook:
        return webhook_message(await self._endpoints.get(request.account_id, request.webhook_id))

    async def UpdateWebhook(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.UpdateWebhookRequest, context: object
    ) -> webhooks_pb2.Webhook:
        changes = WebhookChanges(
            url=request.url if request.HasField("url") else None,
            description=request.description if request.HasField("description") else None,
            active=request.active if request.HasField("active") else None,
            events=list(request.events) if request.set_events else None,
            qr_ids=list(request.qr_ids) if request.set_qr_ids else None,
        )
        webhook = await self._endpoints.update(request.account_id, request.webhook_id, changes)
        return webhook_message(webhook)

    async def DeleteWebhook(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.WebhookRef, context: object
    ) -> webhooks_pb2.DeleteWebhookResponse:
        await self._endpoints.delete(request.account_id, request.webhook_id)
        return webhooks_pb2.DeleteWebhookResponse()

    async def SendTestEvent(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.WebhookRef, context: object
    ) -> webhooks_pb2.Delivery:
        delivery = await self._endpoints.send_test(request.account_id, request.webhook_id)
        return delivery_message(delivery)

    async def ListDeliveries(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.ListDeliveriesRequest, context: object
    ) -> webhooks_pb2.ListDeliveriesResponse:
        limit, offset = _page(request.limit, request.offset)
        deliveries, total = await self._endpoints.deliveries(
            request.account_id, request.webhook_id, limit, offset
        )
        return webhooks_pb2.ListDeliveriesResponse(
            deliveries=[delivery_message(delivery) for delivery in deliveries], total=total
        )

    async def RetryDelivery(  # noqa: N802 - gRPC method name
        self, request: webhooks_pb2.RetryDeliveryRequest, context: object
    ) -> webhooks_pb2.Delivery:
        delivery = await self._endpoints.retry(
            request.account_id, request.webhook_id, request.delivery_id
        )
        return delivery_message(delivery)
