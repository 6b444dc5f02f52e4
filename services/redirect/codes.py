"""What a scan of a short code should get: the pure decision, from a cached record and a time.

No I/O here: the record comes from the cache or Postgres, the clock from the caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

MIN_CODE_LENGTH: Final = 7
MAX_CODE_LENGTH: Final = 32


def is_well_formed(code: str) -> bool:
    """Base62 and 7..32 characters: anything else is a 404 without touching the database."""
    return MIN_CODE_LENGTH <= len(code) <= MAX_CODE_LENGTH and code.isascii() and code.isalnum()


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """The part of a ``qr_codes`` row the redirect needs. ``expires_at`` is Unix seconds."""

    qr_id: str
    account_id: str
    short_code: str
    destination_url: str
    password_hash: str | None
    expires_at: float | None
    max_scans: int
    scan_count: int
    active: bool

    @property
    def limited(self) -> bool:
        return self.max_scans > 0

    @classmethod
    def from_row(cls, row: Any) -> CodeRecord | None:
        """A record from a mapping with the ``qr_codes`` columns; ``None`` when deleted."""
        if row is None or row["deleted_at"] is not None:
            return None
        expires = row["expires_at"]
        return cls(
            qr_id=row["qr_id"],
            account_id=row["account_id"],
            short_code=row["short_code"],
            destination_url=row["destination_url"] or "",
            password_hash=row["password_hash"] or None,
            expires_at=None if expires is None else expires.timestamp(),
            max_scans=int(row["max_scans"]),
            scan_count=int(row["scan_count"]),
            active=bool(row["active"]),
        )

    def exhausted(self) -> CodeRecord:
        """The same record once its last allowed scan was taken."""
        return CodeRecord(
            self.qr_id,
            self.account_id,
            self.short_code,
            self.destination_url,
            self.password_hash,
            self.expires_at,
            self.max_scans,
            max(self.scan_count, self.max_scans),
            self.active,
        )


class Outcome(enum.Enum):
    REDIRECT = "redirect"
    PASSWORD = "password"  # noqa: S105 (an outcome name)
    GONE = "gone"
    NOT_FOUND = "not_found"


def decide(record: CodeRecord | None, now: float) -> Outcome:
    """Unknown/deleted → 404; inactive, expired or out of scans → 410; password → the form."""
    if record is None:
        return Outcome.NOT_FOUND
    if not record.active or not record.destination_url:
        return Outcome.GONE
    if record.expires_at is not None and now >= record.expires_at:
        return Outcome.GONE
    if record.max_scans > 0 and record.scan_count >= record.max_scans:
        return Outcome.GONE
    if record.password_hash:
        return Outcome.PASSWORD
    return Outcome.REDIRECT
