"""What the webhooks service stores, as plain values (rows of its two tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

DeliveryStatus = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    account_id: str
    url: str
    events: tuple[str, ...]
    qr_ids: tuple[str, ...]
    description: str
    active: bool
    disabled_reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A row of the delivery log, as the customer sees it."""

    delivery_id: str
    webhook_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One event for one endpoint, about to be stored."""

    delivery_id: str
    webhook_id: str
    account_id: str
    event_id: str
    event_type: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this process holds the lease on, with what sending it needs."""

    delivery_id: str
    webhook_id: str
    account_id: str
    event_type: str
    payload: bytes
    attempts: int
    created_at: datetime
    url: str
    secret_sealed: bytes
    active: bool


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one attempt changed: the row's new state."""

    delivery_id: str
    webhook_id: str
    status: DeliveryStatus
    attempts: int
    status_code: int | None
    error: str
    next_attempt_at: datetime | None
