"""API key secrets and ids: minting, the keyed hash that is stored, and the format check.

No I/O here. A key is ``sk_live_`` followed by :data:`SECRET_LENGTH` base62 characters drawn
with :mod:`secrets` (about 238 bits). Only ``HMAC-SHA256(KEY_PEPPER, key)`` is stored, so a
leaked table cannot be used to authenticate, nor brute-forced without the pepper.

Authentication looks the HMAC up through a unique index rather than comparing in Python: the
timing of that lookup can only reveal something about HMAC values, which an attacker cannot
compute without the pepper, so it leaks nothing useful about any real key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import Final

KEY_PREFIX: Final = "sk_live_"
BASE62: Final = string.digits + string.ascii_letters
SECRET_LENGTH: Final = 40
KEY_LENGTH: Final = len(KEY_PREFIX) + SECRET_LENGTH
DISPLAY_PREFIX_LENGTH: Final = 12  # "sk_live_" + 4 characters: enough to tell keys apart

ID_LENGTH: Final = 16  # base62 characters, about 95 bits
ACCOUNT_ID_PREFIX: Final = "acc_"
KEY_ID_PREFIX: Final = "key_"

_BASE62_SET: Final = frozenset(BASE62)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def mint_secret() -> str:
    """A new API key secret; show it once and store only :func:`hash_secret` of it."""
    return KEY_PREFIX + _random_base62(SECRET_LENGTH)


def new_account_id() -> str:
    return ACCOUNT_ID_PREFIX + _random_base62(ID_LENGTH)


def new_key_id() -> str:
    return KEY_ID_PREFIX + _random_base62(ID_LENGTH)


def is_well_formed(presented: str) -> bool:
    """Whether ``presented`` could be a key we minted; callers reject it before any query."""
    return (
        len(presented) == KEY_LENGTH
        and presented.startswith(KEY_PREFIX)
        and all(char in _BASE62_SET for char in presented[len(KEY_PREFIX) :])
    )


def hash_secret(pepper: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of ``secret`` under ``pepper``: the only form of a key we store."""
    return hmac.new(pepper, secret.encode("ascii"), hashlib.sha256).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_PREFIX_LENGTH]
