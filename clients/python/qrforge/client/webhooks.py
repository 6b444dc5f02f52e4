"""Checking that a webhook delivery really comes from QRForge (Standard Webhooks).

The server signs ``"{webhook-id}.{webhook-timestamp}.{body}"`` with HMAC-SHA256, keyed by the
endpoint's secret (``whsec_`` + base64), and sends ``webhook-signature: v1,<base64>`` (several
space-separated signatures while a secret rotates). A delivery is accepted when one signature
matches (compared in constant time) and its timestamp is within ``tolerance_s`` of now, which
stops a captured delivery from being replayed later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Final

from qrforge.client.errors import QRForgeError

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOLERANCE_S: Final = 300


class WebhookVerificationError(QRForgeError):
    """The delivery is not signed by this secret, or too old / too far in the future."""


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value the server sends for this delivery."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON (``{type, timestamp, data}``) when it is authentic; else raises
    :class:`WebhookVerificationError`. ``body`` is the raw request body, before any parsing."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not webhook_id or not raw_timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    try:
        expected = sign(secret, webhook_id, timestamp, body).encode()
    except ValueError:
        raise WebhookVerificationError("the secret is not whsec_ + base64") from None
    if not any(
        hmac.compare_digest(expected, candidate.encode())
        for candidate in signatures.split()
        if candidate.startswith("v1,")
    ):
        raise WebhookVerificationError("no signature matches")
    payload: dict[str, Any] = json.loads(body)
    return payload
