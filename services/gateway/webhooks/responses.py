"""The JSON shapes of webhooks and deliveries (API.md, "Webhooks and the live scan stream")."""

from __future__ import annotations

from typing import Any

from qrforge.v1 import webhooks_pb2
from services.gateway.http.timestamps import format_timestamp


def webhook_json(webhook: webhooks_pb2.Webhook, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "webhook_id": webhook.webhook_id,
        "url": webhook.url,
        "events": list(webhook.events),
        "qr_ids": list(webhook.qr_ids),
        "description": webhook.description,
        "active": webhook.active,
        "disabled_reason": webhook.disabled_reason or None,
        "created_at": format_timestamp(webhook.created_at, True),
    }
    if secret is not None:
        data["secret"] = secret  # only in the creation answer
    return data


def delivery_json(delivery: webhooks_pb2.Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code or None,
        "last_error": delivery.last_error or None,
        "next_attempt_at": format_timestamp(
            delivery.next_attempt_at, delivery.HasField("next_attempt_at")
        ),
        "created_at": format_timestamp(delivery.created_at, True),
    }
