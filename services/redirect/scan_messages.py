"""The AMQP messages of scans: what a redirect captured, turned into scan events (the wire
format of :class:`services.runtime.scan_events.ScanEvent`) and events into a message.

The request path only captures a tuple (cheap); ids, timestamps and JSON are made here, once
per batch, off the request path. An event's id is fixed the first time it is formatted, so a batch
that is spooled and replayed later keeps the same ids (analytics deduplicates on them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import aio_pika
import msgspec

from services.runtime.scan_events import SCAN_EVENT_VERSION, ScanEvent, well_formed_text

# (unix time, qr_id, account_id, ip, user_agent, referer, accept_language, rule, variant)
Capture = tuple[float, str, str, str, str, str, str, int | None, int | None]

MAX_USER_AGENT: Final = 512
MAX_REFERER: Final = 1024
MAX_ACCEPT_LANGUAGE: Final = 128


def capture(
    ts: float,
    qr_id: str,
    account_id: str,
    ip: str,
    user_agent: str,
    referer: str,
    accept_language: str,
    rule: int | None = None,
    variant: int | None = None,
) -> Capture:
    return (
        ts,
        qr_id,
        account_id,
        ip,
        user_agent[:MAX_USER_AGENT],
        referer[:MAX_REFERER],
        accept_language[:MAX_ACCEPT_LANGUAGE],
        rule,
        variant,
    )


_encoder: Final = msgspec.json.Encoder()


def _well_formed(event: ScanEvent) -> ScanEvent:
    return msgspec.structs.replace(
        event,
        user_agent=well_formed_text(event.user_agent),
        referer=well_formed_text(event.referer),
        accept_language=well_formed_text(event.accept_language),
    )


def to_events(captures: Sequence[Capture]) -> list[str]:
    """One compact JSON object per capture (a :class:`ScanEvent`), encoded by msgspec in C:
    half the cost of formatting them in Python, on a path every scan takes."""
    randomness = os.urandom(16 * len(captures)).hex()
    from_timestamp = datetime.fromtimestamp
    events = [
        ScanEvent(
            randomness[32 * i : 32 * (i + 1)],
            qr_id,
            account_id,
            from_timestamp(ts, UTC),
            ip,
            user_agent,
            referer,
            language,
            rule,
            variant,
        )
        for i, (ts, qr_id, account_id, ip, user_agent, referer, language, rule, variant) in (
            enumerate(captures)
        )
    ]
    try:
        lines = _encoder.encode_lines(events)
    except UnicodeEncodeError:  # a header's bytes were not UTF-8 (Python keeps them as surrogates)
        lines = _encoder.encode_lines([_well_formed(event) for event in events])
    # JSON strings escape newlines, so every newline here ends one event.
    return lines.decode().split("\n")[:-1]


def message_body(events: Sequence[str]) -> bytes:
    """``{"v": 2, "events": [...]}`` from events already in JSON (what ``event_message`` of
    :mod:`services.runtime.amqp` would write for the same events, at the scan event's own
    version)."""
    return f'{{"v":{SCAN_EVENT_VERSION},"events":[{",".join(events)}]}}'.encode()


def event_message_for(events: Sequence[str]) -> aio_pika.Message:
    """A persistent JSON message, like :func:`services.runtime.amqp.event_message`."""
    return aio_pika.Message(
        message_body(events),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
