"""Events as customers receive them, built from what the broker carries, and which endpoints
want them.

- ``scan.created`` from analytics' enriched scans (:mod:`services.runtime.enriched_scans`):
  the country, device, OS, browser and bot flag analytics computed, never an IP or a visitor
  hash; the scan's ``event_id`` identifies the event.
- ``code.created`` / ``code.updated`` / ``code.deleted`` from the gateway's catalog events;
  their ``event_id`` identifies the event (an event without ``account_id`` or ``event_id``, from
  an older gateway, cannot be matched to an account and is skipped).
- ``webhook.test``, made on request for one endpoint.

The body is Standard Webhooks' ``{type, timestamp, data}``, fixed when the event is stored so
every attempt sends the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from services.runtime.enriched_scans import decode_batch, scan_created_data
from services.runtime.ids import new_id
from services.runtime.topics import CODE_CREATED, CODE_DELETED, CODE_UPDATED

SCAN_CREATED: Final = "scan.created"
TEST_EVENT: Final = "webhook.test"
EVENT_TYPES: Final = (SCAN_CREATED, CODE_CREATED, CODE_UPDATED, CODE_DELETED)
_CATALOG_TYPES: Final = frozenset({CODE_CREATED, CODE_UPDATED, CODE_DELETED})
_MAX_ID_CHARS: Final = 64


class MalformedEventError(ValueError):
    """A broker message this service cannot read (dead-lettered)."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    account_id: str
    event_type: str
    qr_id: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class EndpointFilter:
    """What one active endpoint subscribed to."""

    webhook_id: str
    events: frozenset[str]
    qr_ids: frozenset[str]  # empty: every code

    def matches(self, event: WebhookEvent) -> bool:
        if event.event_type not in self.events:
            return False
        return not self.qr_ids or event.qr_id in self.qr_ids


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_body(event_type: str, moment: datetime, data: object) -> bytes:
    return msgspec.json.encode({"type": event_type, "timestamp": rfc3339(moment), "data": data})


def scan_events(body: bytes) -> list[WebhookEvent]:
    try:
        scans = decode_batch(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MalformedEventError(str(exc)[:200]) from None
    events: list[WebhookEvent] = []
    for scan in scans:
        data = scan_created_data(scan)
        events.append(
            WebhookEvent(
                scan.event_id,
                scan.account_id,
                SCAN_CREATED,
                scan.qr_id,
                event_body(SCAN_CREATED, scan.scanned_at, data),
            )
        )
    return events


def _short_id(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID_CHARS else None


def catalog_event(routing_key: str, body: bytes) -> WebhookEvent | None:
    """The event a catalog message stands for; None when it is not one customers see."""
    if routing_key not in _CATALOG_TYPES:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        raise MalformedEventError("catalog event is not JSON") from None
    if not isinstance(message, dict) or message.get("v") != 1:
        raise MalformedEventError("catalog event of an unknown version")
    event_id, account_id = _short_id(message.get("event_id")), _short_id(message.get("account_id"))
    qr_id = _short_id(message.get("qr_id"))
    if event_id is None or account_id is None or qr_id is None:
        return None  # from a gateway that does not name the account: nobody to send it to
    try:
        moment = datetime.fromisoformat(str(message.get("ts")))
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    short_code = message.get("short_code")
    kind = message.get("kind")
    data = {
        "qr_id": qr_id,
        "kind": kind if kind in ("static", "dynamic") else None,
        "short_code": short_code if isinstance(short_code, str) else None,
    }
    return WebhookEvent(
        event_id, account_id, routing_key, qr_id, event_body(routing_key, moment, data)
    )


def test_event(account_id: str, webhook_id: str) -> WebhookEvent:
    data = {"webhook_id": webhook_id, "message": "This is a test event from QRForge."}
    return WebhookEvent(
        new_id("evt"), account_id, TEST_EVENT, None, event_body(TEST_EVENT, datetime.now(UTC), data)
    )


def matching(endpoints: Iterable[EndpointFilter], event: WebhookEvent) -> list[str]:
    """The webhook ids of ``endpoints`` that want ``event``."""
    return [endpoint.webhook_id for endpoint in endpoints if endpoint.matches(event)]
