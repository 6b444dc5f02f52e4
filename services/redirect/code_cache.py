"""The in-memory code cache: bounded LRU with a TTL, negative entries, and stale reads.

An entry past its TTL is not served as fresh, but it is kept (until the LRU pushes it out) so
the resolver can still answer with it when Postgres errors. ``generation`` moves on every
eviction, so a database read that raced with a catalog event never re-inserts old data.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from services.redirect.codes import CodeRecord


class Miss:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISS"


MISS: Final = Miss()
"""Returned when the cache has nothing usable; ``None`` is a cached "no such code"."""

Cached = CodeRecord | None | Miss


class CodeCache:
    def __init__(self, max_entries: int, ttl_s: float, negative_ttl_s: float) -> None:
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        # short code -> (record or None, fresh until (monotonic seconds))
        self._entries: OrderedDict[str, tuple[CodeRecord | None, float]] = OrderedDict()
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, code: str, now: float) -> Cached:
        entry = self._entries.get(code)
        if entry is None or entry[1] < now:
            return MISS
        self._entries.move_to_end(code)
        return entry[0]

    def stale(self, code: str) -> Cached:
        """Whatever is cached, however old: the fallback while the database is down."""
        entry = self._entries.get(code)
        return MISS if entry is None else entry[0]

    def put(self, code: str, record: CodeRecord | None, now: float) -> None:
        ttl = self._ttl_s if record is not None else self._negative_ttl_s
        self._store(code, record, now + ttl)

    def put_stale(self, code: str, record: CodeRecord | None) -> None:
        """Keep ``record`` only as a fallback: every lookup reloads it while Postgres answers."""
        self._store(code, record, 0.0)

    def _store(self, code: str, record: CodeRecord | None, fresh_until: float) -> None:
        self._entries[code] = (record, fresh_until)
        self._entries.move_to_end(code)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def replace(self, code: str, record: CodeRecord) -> None:
        """Update an entry in place (keeping its expiry), e.g. once a code ran out of scans."""
        entry = self._entries.get(code)
        if entry is not None:
            self._entries[code] = (record, entry[1])

    def evict(self, code: str) -> bool:
        self.generation += 1
        return self._entries.pop(code, None) is not None

    def evict_qr_id(self, qr_id: str) -> int:
        """Evict by record id (a catalog event without a short code); scans the cache."""
        codes = [c for c, (r, _) in self._entries.items() if r is not None and r.qr_id == qr_id]
        for code in codes:
            self.evict(code)
        return len(codes)

    def expire_all(self) -> None:
        """Make every entry stale (still usable as a fallback): after missing catalog events."""
        self.generation += 1
        for code, (record, _) in self._entries.items():
            self._entries[code] = (record, 0.0)
