"""Opaque public ids: a type prefix and 16 base62 characters (~95 random bits), so ids are
unguessable and never enumerable."""

from __future__ import annotations

import secrets
import string
from typing import Final

BASE62: Final = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_{random_base62(length)}"
