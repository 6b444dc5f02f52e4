"""The scan event: what the redirect service publishes for every counted redirect and the
analytics service consumes. Defined once, as a msgspec schema, so both sides agree on the wire
format and the consumer validates it in C while decoding.

A message on the ``scans`` exchange carries a small batch: ``{"v": 2, "events": [ScanEvent…]}``
(one event per message caps the broker near 9k/s; batches of ~10 reach ~100k/s).

Versions: 1 had no ``rule``/``variant``; 2 adds them (dynamic codes v1.1). A consumer reads
both (a version-1 event's are ``None``), so events spooled by an older redirect still count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

import msgspec

MAX_ID_CHARS: Final = 64
SCAN_EVENT_VERSION: Final = 2
READABLE_SCAN_EVENT_VERSIONS: Final = frozenset({1, 2})
MAX_ROUTE_INDEX: Final = 1000

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
RouteIndex = Annotated[int, msgspec.Meta(ge=0, le=MAX_ROUTE_INDEX)]
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
"""An RFC 3339 instant with its offset (the redirect writes UTC with microseconds:
``2026-03-12T10:30:00.123456Z``); one without an offset is refused."""


class ScanEvent(msgspec.Struct, frozen=True, gc=False):
    """Unknown keys are ignored (a newer publisher may add some); missing optional ones read
    as ``""``."""

    event_id: EventId  # unique per scan (uuid4 hex); analytics deduplicates on it
    qr_id: EventId
    account_id: EventId
    ts: Instant
    ip: str = ""
    user_agent: str = ""
    referer: str = ""
    accept_language: str = ""
    rule: RouteIndex | None = None  # index of the routing rule that matched; None: none
    variant: RouteIndex | None = None  # index of the A/B variant served; None: no variants

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready builtins (``ts`` in RFC 3339)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


def well_formed_text(text: str) -> str:
    """``text`` with lone UTF-16 surrogates replaced by U+FFFD. Headers carrying invalid UTF-8
    bytes reach Python as such surrogates; they cannot be written as UTF-8 (JSON can still carry
    them as ``\\udcxx`` escapes), and one odd user agent must not cost its whole batch."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
