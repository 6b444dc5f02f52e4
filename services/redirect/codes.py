"""What a scan of a short code should get: the pure decision, from a cached record and a time.

No I/O here: the record comes from the cache or Postgres, the clock from the caller.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from services.redirect.routing import Routing, compile_routing
from services.runtime.short_links import is_code_shaped


def is_well_formed(code: str) -> bool:
    """A generated code or a slug (3..64 of ``[A-Za-z0-9_-]``): anything else is a 404
    without touching the database."""
    return is_code_shaped(code)


def cache_key(domain: str, code: str) -> str:
    """What the cache and the resolver know a code by: the code itself on the default domain
    (the common case costs nothing), ``domain/code`` on another (codes never hold a ``/``)."""
    return f"{domain}/{code}" if domain else code


def split_cache_key(key: str) -> tuple[str, str]:
    """(domain key, code) of a :func:`cache_key`."""
    domain, _, code = key.rpartition("/")
    return domain, code


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
    domain: str = ""  # the short domain's key; "" = the default domain
    routing: Routing | None = None  # None: always ``destination_url``
    expired_url: str | None = None  # instead of the 410 page (a 302, not counted)

    @property
    def key(self) -> str:
        return cache_key(self.domain, self.short_code)

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
            # Dynamic codes v1.1 columns (a row read without them is a plain code).
            domain=row.get("domain") or "",
            routing=compile_routing(
                row["destination_url"] or "",
                row.get("rules") or (),
                row.get("variants") or (),
                bool(row.get("forward_query")),
                row.get("utm"),
            ),
            expired_url=row.get("expired_url") or None,
        )

    def exhausted(self) -> CodeRecord:
        """The same record once its last allowed scan was taken."""
        return dataclasses.replace(self, scan_count=max(self.scan_count, self.max_scans))


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
