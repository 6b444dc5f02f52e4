"""Turning what a redirect captured into scan events (the wire format of
:class:`services.runtime.scan_events.ScanEvent`) and events into a message body.

The request path only captures a tuple (cheap); ids and timestamps are formatted here, once per
batch, off the request path. An event's id is fixed the first time it is formatted, so a batch
that is spooled and replayed later keeps the same ids (analytics deduplicates on them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii
from typing import Final

import aio_pika

from services.runtime.topics import EVENT_VERSION

# (unix time, qr_id, account_id, ip, user_agent, referer, accept_language)
Capture = tuple[float, str, str, str, str, str, str]

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
) -> Capture:
    return (
        ts,
        qr_id,
        account_id,
        ip,
        user_agent[:MAX_USER_AGENT],
        referer[:MAX_REFERER],
        accept_language[:MAX_ACCEPT_LANGUAGE],
    )


_last_second = -1
_last_prefix = ""


def rfc3339_ms(ts: float) -> str:
    global _last_second, _last_prefix  # noqa: PLW0603 (a one-entry cache: scans come in bursts)
    seconds, millis = divmod(round(ts * 1000), 1000)
    if seconds != _last_second:
        _last_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second = seconds
    return f"{_last_prefix}.{millis:03d}Z"


def to_events(captures: Sequence[Capture]) -> list[str]:
    """One compact JSON object per capture, in :class:`ScanEvent`'s field order.

    Written by hand with the C string escaper (a third of ``json.dumps``' cost on the path
    that every scan takes); the unit tests check it parses into a ``ScanEvent``.
    """
    randomness = os.urandom(16 * len(captures)).hex()
    q = encode_basestring_ascii
    return [
        f'{{"event_id":"{randomness[32 * i : 32 * (i + 1)]}","qr_id":{q(qr_id)},'
        f'"account_id":{q(account_id)},"ts":"{rfc3339_ms(ts)}","ip":{q(ip)},'
        f'"user_agent":{q(user_agent)},"referer":{q(referer)},"accept_language":{q(language)}}}'
        for i, (ts, qr_id, account_id, ip, user_agent, referer, language) in enumerate(captures)
    ]


def message_body(events: Sequence[str]) -> bytes:
    """``{"v": 1, "events": [...]}`` from events already in JSON (what ``event_message`` of
    :mod:`services.runtime.amqp` would write for the same events)."""
    return f'{{"v":{EVENT_VERSION},"events":[{",".join(events)}]}}'.encode()


def event_message_for(events: Sequence[str]) -> aio_pika.Message:
    """A persistent JSON message, like :func:`services.runtime.amqp.event_message`."""
    return aio_pika.Message(
        message_body(events),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
