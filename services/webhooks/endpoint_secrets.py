"""Endpoint signing secrets: made here, shown once, stored only sealed.

A secret is ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks form). At rest it is
AES-256-GCM sealed with the key from ``WEBHOOK_ENCRYPTION_KEY`` (a fresh 96-bit nonce each
time, the webhook id as associated data so a sealed secret copied onto another row does not
open). The service needs the plain secret to sign, so a one-way hash would not do.
"""

from __future__ import annotations

import base64
import secrets
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES: Final = 32
_NONCE_BYTES: Final = 12


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, secret: str, webhook_id: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())

    def open(self, sealed: bytes, webhook_id: str) -> str:
        """Raises ``cryptography.exceptions.InvalidTag`` for another key or another row."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, webhook_id.encode()).decode()
