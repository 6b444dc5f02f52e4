"""Opaque public ids: a type prefix and 16 base62 characters (~95 random bits), so ids are
unguessable and never enumerable."""

from __future__ import annotations

import secrets
import string
from typing import Final

BASE62: Final = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    """``length`` uniform base62 characters from one read of the system's random source
    (a ``secrets.choice`` per character cost a system call each)."""
    chars: list[str] = []
    while len(chars) < length:
        # 248 = 4 × 62: bytes below it map onto the alphabet uniformly; the rest are skipped.
        chars.extend(BASE62[byte % 62] for byte in secrets.token_bytes(length + 8) if byte < 248)
    return "".join(chars[:length])


def new_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_{random_base62(length)}"
