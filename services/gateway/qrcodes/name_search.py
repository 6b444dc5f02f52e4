"""Search of QR codes by name (``GET /v1/qrcodes?q=``): the ``q`` parameter, checked, and the
``ILIKE`` pattern it becomes. Pure: no I/O.

The match is a case-insensitive substring of the name, the needle taken literally: ``%``, ``_``
and ``\\`` in it are escaped, so ``50%`` finds "50% off" and not every name with a 50 in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from services.runtime.errors import ApiError

MAX_QUERY_LENGTH: Final = 200
"""A name is at most 200 characters: a longer needle could match nothing."""


def name_query(query: Mapping[str, str]) -> str | None:
    """The ``?q=`` needle; ``None`` when absent or empty (no filter)."""
    raw = query.get("q")
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_QUERY_LENGTH:
        raise ApiError(
            "INVALID_PARAMETER",
            f"q must be at most {MAX_QUERY_LENGTH} characters",
            field="q",
        )
    if "\x00" in raw:
        raise ApiError("INVALID_PARAMETER", "q must not contain NUL characters", field="q")
    return raw


def contains_pattern(needle: str) -> str:
    """The ``ILIKE`` pattern (default escape character ``\\``) of names containing ``needle``."""
    literal = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{literal}%"
