"""The first two steps of the consumer: decode a message body into scan events, and validate
each event (ids present and bounded, a parseable, plausible timestamp).

A message that fails either step is malformed as a whole and goes to the dead-letter queue,
never back to the queue: it would fail the same way forever. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from services.runtime.scan_events import ScanEvent
from services.runtime.topics import EVENT_VERSION

MAX_EVENTS_PER_MESSAGE: Final = 10_000
MAX_ID_CHARS: Final = 64
EARLIEST_TS: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW: Final = timedelta(days=1)
"""Events stamped further in the future than this are refused (a broken clock, not a scan)."""


class MalformedMessageError(ValueError):
    """The message cannot be counted; ``reason`` is a short, low-cardinality label."""

    def __init__(self, reason: str, detail: str, events: int = 1) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.events = events


@dataclass(frozen=True, slots=True)
class ValidScan:
    event: ScanEvent
    ts: datetime  # aware, UTC


def decode(body: bytes) -> list[Any]:
    """The raw event objects of a ``{"v": 1, "events": [...]}`` body."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessageError("invalid_json", str(exc)) from None
    if not isinstance(payload, dict):
        raise MalformedMessageError("invalid_shape", "the body is not a JSON object")
    version = payload.get("v")
    if version != EVENT_VERSION or isinstance(version, bool):
        raise MalformedMessageError("unknown_version", f"cannot read version {version!r}")
    events = payload.get("events")
    if not isinstance(events, list):
        raise MalformedMessageError("invalid_shape", "events is not a list")
    if len(events) > MAX_EVENTS_PER_MESSAGE:
        raise MalformedMessageError("too_many_events", f"{len(events)} events", len(events))
    return events


def parse_ts(value: str) -> datetime:
    """An RFC 3339 instant with an offset (``Z`` or ``±hh:mm``), as aware UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("timestamp lacks a time zone offset")
    return moment.astimezone(UTC)


def validate(raw: Any, now: datetime) -> ValidScan:
    event = ScanEvent.from_json(raw)
    for name in ("event_id", "qr_id", "account_id"):
        if len(getattr(event, name)) > MAX_ID_CHARS:
            raise ValueError(f"{name} is longer than {MAX_ID_CHARS} characters")
    ts = parse_ts(event.ts)
    if ts < EARLIEST_TS or ts > now + MAX_CLOCK_SKEW:
        raise ValueError(f"timestamp {event.ts} is out of range")
    return ValidScan(event, ts)


def decode_and_validate(body: bytes, now: datetime) -> list[ValidScan]:
    events = decode(body)
    try:
        return [validate(raw, now) for raw in events]
    except ValueError as exc:
        raise MalformedMessageError("invalid_event", str(exc), len(events)) from None
