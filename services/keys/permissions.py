"""Key permissions: ``read`` for GET routes, ``write`` for everything else (API.md).

Which permission a route needs is the gateway's business; this module only validates sets of
permissions and enforces that a key cannot hand out more than it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from services.runtime.errors import ApiError

READ: Final = "read"
WRITE: Final = "write"
ALL: Final = (READ, WRITE)  # also the canonical order permissions are stored and returned in


def parse_permissions(values: Iterable[str]) -> tuple[str, ...]:
    """A non-empty, de-duplicated, canonically ordered tuple; anything else is refused."""
    requested = set(values)
    unknown = requested.difference(ALL)
    if unknown:
        raise ApiError(
            "INVALID_PARAMETER",
            f"Unknown permission {sorted(unknown)[0]!r}: use 'read' and/or 'write'",
            field="permissions",
        )
    if not requested:
        raise ApiError(
            "INVALID_PARAMETER", "At least one permission is required", field="permissions"
        )
    return tuple(p for p in ALL if p in requested)


def check_can_grant(requested: Iterable[str], held: Iterable[str]) -> None:
    """Refuse a key asking for a permission its creator does not hold."""
    missing = set(requested).difference(held)
    if missing:
        raise ApiError(
            "INSUFFICIENT_PERMISSION",
            f"A key cannot grant the {sorted(missing)[0]!r} permission it does not hold",
        )
