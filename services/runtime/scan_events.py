"""The scan event: what the redirect service publishes for every counted redirect and the
analytics service consumes. Defined once so both sides agree on the wire format.

A message on the ``scans`` exchange carries a small batch: ``{"v": 1, "events": [ScanEvent…]}``
(one event per message caps the broker near 9k/s; batches of ~10 reach ~100k/s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScanEvent:
    event_id: str  # unique per scan (uuid4 hex); analytics deduplicates on it
    qr_id: str
    account_id: str
    ts: str  # RFC 3339 UTC with milliseconds, e.g. 2026-03-12T10:30:00.123Z
    ip: str
    user_agent: str
    referer: str
    accept_language: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ScanEvent:
        """Raises ValueError for anything that is not a well-formed event."""
        if not isinstance(data, dict):
            raise ValueError("scan event must be an object")
        values = {}
        for name in cls.__slots__:
            value = data.get(name, "")
            if not isinstance(value, str):
                raise ValueError(f"scan event field {name} must be a string")
            values[name] = value
        if (
            not values["event_id"]
            or not values["qr_id"]
            or not values["account_id"]
            or not values["ts"]
        ):
            raise ValueError("scan event lacks event_id, qr_id, account_id or ts")
        return cls(**values)
