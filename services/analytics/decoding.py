"""The first two steps of the consumer: decode a message body into scan events, and validate
each event (ids present and bounded, a parseable, plausible timestamp).

Decoding and the schema checks happen in one pass in C (msgspec, against
:class:`~services.runtime.scan_events.ScanEvent`); only the timestamp's range is checked here.
A message that fails either step is malformed as a whole and goes to the dead-letter queue,
never back to the queue: it would fail the same way forever. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

import msgspec

from services.runtime.scan_events import READABLE_SCAN_EVENT_VERSIONS, ScanEvent, well_formed_text

MAX_EVENTS_PER_MESSAGE: Final = 10_000
EARLIEST_TS: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW: Final = timedelta(days=1)
"""Events stamped further in the future than this are refused (a broken clock, not a scan)."""


class MalformedMessageError(ValueError):
    """The message cannot be counted; ``reason`` is a short, low-cardinality label."""

    def __init__(self, reason: str, detail: str, events: int = 1) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.events = events


class _Envelope(msgspec.Struct):
    v: Any = None
    events: msgspec.Raw = msgspec.Raw()


_envelope = msgspec.json.Decoder(_Envelope)
_events = msgspec.json.Decoder(
    Annotated[list[ScanEvent], msgspec.Meta(max_length=MAX_EVENTS_PER_MESSAGE)]
)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return well_formed_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {well_formed_text(key): _clean(item) for key, item in value.items()}
    return value


def _open(body: bytes) -> _Envelope:
    try:
        return _envelope.decode(body)
    except msgspec.ValidationError:
        raise MalformedMessageError("invalid_shape", "the body is not a JSON object") from None
    except msgspec.DecodeError:
        pass
    # msgspec refuses escaped lone surrogates (from headers with invalid UTF-8), which the
    # standard parser reads: such a body is cleaned and decoded again; only it pays for that.
    try:
        cleaned = _clean(json.loads(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessageError("invalid_json", str(exc)) from None
    if not isinstance(cleaned, dict):
        raise MalformedMessageError("invalid_shape", "the body is not a JSON object")
    return _envelope.decode(msgspec.json.encode(cleaned))


def _refusal(raw_events: bytes, error: msgspec.ValidationError) -> MalformedMessageError:
    """Why a list of events failed the schema (too long, or an event is invalid), with how
    many events it drops."""
    events = msgspec.json.decode(raw_events)
    if len(events) > MAX_EVENTS_PER_MESSAGE:
        return MalformedMessageError("too_many_events", f"{len(events)} events", len(events))
    return MalformedMessageError("invalid_event", str(error), len(events))


def decode_and_validate(body: bytes, now: datetime) -> list[ScanEvent]:
    """The events of a ``{"v": 1 or 2, "events": [...]}`` body, timestamps in UTC (version 1
    events have no ``rule``/``variant``: ``None``)."""
    envelope = _open(body)
    version = envelope.v
    if isinstance(version, bool) or version not in READABLE_SCAN_EVENT_VERSIONS:
        raise MalformedMessageError("unknown_version", f"cannot read version {version!r}")
    raw_events = bytes(envelope.events)
    if not raw_events.startswith(b"["):
        raise MalformedMessageError("invalid_shape", "events is not a list")
    try:
        events: list[ScanEvent] = _events.decode(raw_events)
    except msgspec.ValidationError as exc:
        raise _refusal(raw_events, exc) from None
    latest = now + MAX_CLOCK_SKEW
    for index, event in enumerate(events):
        ts = event.ts
        if ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
            events[index] = msgspec.structs.replace(event, ts=ts)
        if ts < EARLIEST_TS or ts > latest:
            raise MalformedMessageError(
                "invalid_event", f"timestamp {event.ts.isoformat()} is out of range", len(events)
            )
    return events
