"""Every question the gateway asks the webhooks service, which owns the endpoints and their
deliveries. Each call has a deadline; a failed call is the
:class:`~services.runtime.errors.ApiError` it stands for (``WEBHOOK_NOT_FOUND``, a refused
URL as ``INVALID_PARAMETER``, the service down or slow as ``SERVICE_UNAVAILABLE``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qrforge.v1 import webhooks_pb2, webhooks_pb2_grpc
from services.runtime.grpc_client import call_unary


@dataclass(frozen=True, slots=True)
class WebhooksBackend:
    stub: webhooks_pb2_grpc.WebhooksServiceAsyncStub
    timeout_s: float


@dataclass(frozen=True, slots=True)
class NewWebhook:
    url: str
    events: Sequence[str]
    qr_ids: Sequence[str]
    description: str


@dataclass(frozen=True, slots=True)
class WebhookPatch:
    """None: unchanged."""

    url: str | None = None
    events: Sequence[str] | None = None
    qr_ids: Sequence[str] | None = None
    description: str | None = None
    active: bool | None = None


async def create_webhook(
    backend: WebhooksBackend, account_id: str, new: NewWebhook
) -> webhooks_pb2.CreateWebhookResponse:
    return await call_unary(
        backend.stub.CreateWebhook,
        webhooks_pb2.CreateWebhookRequest(
            account_id=account_id,
            url=new.url,
            events=list(new.events),
            qr_ids=list(new.qr_ids),
            description=new.description,
        ),
        timeout=backend.timeout_s,
        name="webhooks.CreateWebhook",
    )


async def list_webhooks(
    backend: WebhooksBackend, account_id: str, limit: int, offset: int
) -> webhooks_pb2.ListWebhooksResponse:
    return await call_unary(
        backend.stub.ListWebhooks,
        webhooks_pb2.ListWebhooksRequest(account_id=account_id, limit=limit, offset=offset),
        timeout=backend.timeout_s,
        name="webhooks.ListWebhooks",
    )


async def get_webhook(
    backend: WebhooksBackend, account_id: str, webhook_id: str
) -> webhooks_pb2.Webhook:
    return await call_unary(
        backend.stub.GetWebhook,
        webhooks_pb2.WebhookRef(account_id=account_id, webhook_id=webhook_id),
        timeout=backend.timeout_s,
        name="webhooks.GetWebhook",
    )


async def update_webhook(
    backend: WebhooksBackend, account_id: str, webhook_id: str, patch: WebhookPatch
) -> webhooks_pb2.Webhook:
    request = webhooks_pb2.UpdateWebhookRequest(account_id=account_id, webhook_id=webhook_id)
    if patch.url is not None:
        request.url = patch.url
    if patch.description is not None:
        request.description = patch.description
    if patch.active is not None:
        request.active = patch.active
    if patch.events is not None:
        request.set_events = True
        request.events.extend(patch.events)
    if patch.qr_ids is not None:
        request.set_qr_ids = True
        request.qr_ids.extend(patch.qr_ids)
    return await call_unary(
        backend.stub.UpdateWebhook,
        request,
        timeout=backend.timeout_s,
        name="webhooks.UpdateWebhook",
    )


async def delete_webhook(backend: WebhooksBackend, account_id: str, webhook_id: str) -> None:
    await call_unary(
        backend.stub.DeleteWebhook,
        webhooks_pb2.WebhookRef(account_id=account_id, webhook_id=webhook_id),
        timeout=backend.timeout_s,
        name="webhooks.DeleteWebhook",
    )


async def send_test_event(
    backend: WebhooksBackend, account_id: str, webhook_id: str
) -> webhooks_pb2.Delivery:
    return await call_unary(
        backend.stub.SendTestEvent,
        webhooks_pb2.WebhookRef(account_id=account_id, webhook_id=webhook_id),
        timeout=backend.timeout_s,
        name="webhooks.SendTestEvent",
    )


async def list_deliveries(
    backend: WebhooksBackend, account_id: str, webhook_id: str, limit: int, offset: int
) -> webhooks_pb2.ListDeliveriesResponse:
    return await call_unary(
        backend.stub.ListDeliveries,
        webhooks_pb2.ListDeliveriesRequest(
            account_id=account_id, webhook_id=webhook_id, limit=limit, offset=offset
        ),
        timeout=backend.timeout_s,
        name="webhooks.ListDeliveries",
    )


async def retry_delivery(
    backend: WebhooksBackend, account_id: str, webhook_id: str, delivery_id: str
) -> webhooks_pb2.Delivery:
    return await call_unary(
        backend.stub.RetryDelivery,
        webhooks_pb2.RetryDeliveryRequest(
            account_id=account_id, webhook_id=webhook_id, delivery_id=delivery_id
        ),
        timeout=backend.timeout_s,
        name="webhooks.RetryDelivery",
    )
