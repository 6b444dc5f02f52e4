"""Webhook signature checks (Standard Webhooks): the specification's published example
verifies, and a changed body, another secret, an old timestamp or a missing header does not."""

from __future__ import annotations

import base64
import json
import time

import pytest

from qrforge.client.webhooks import WebhookVerificationError, sign, verify_webhook

# The example of the Standard Webhooks specification (and of its reference libraries).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(signature: str = SIGNATURE, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {
        "Webhook-Id": MSG_ID,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature,
    }


def test_the_specifications_example_verifies() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE
    assert verify_webhook(SECRET, _headers(), BODY, now=TIMESTAMP + 10) == {"test": 2432232314}


def test_one_matching_signature_among_several_is_enough() -> None:
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    headers = _headers(f"{other} {SIGNATURE}")
    assert verify_webhook(SECRET, headers, BODY, now=TIMESTAMP) == {"test": 2432232314}


@pytest.mark.parametrize(
    ("secret", "headers", "body", "now"),
    [
        (SECRET, _headers(), b'{"test": 2432232315}', TIMESTAMP),  # body changed
        ("whsec_" + base64.b64encode(b"another").decode(), _headers(), BODY, TIMESTAMP),
        (SECRET, _headers(), BODY, TIMESTAMP + 301),  # replayed later
        (SECRET, _headers(), BODY, TIMESTAMP - 301),  # from the future
        (SECRET, {"webhook-id": MSG_ID}, BODY, TIMESTAMP),
        (SECRET, _headers("v2," + SIGNATURE[3:]), BODY, TIMESTAMP),
        ("whsec_not base64!", _headers(), BODY, TIMESTAMP),
    ],
)
def test_anything_else_is_refused(
    secret: str, headers: dict[str, str], body: bytes, now: int
) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, body, now=now)


def test_a_delivery_signed_now_verifies_with_the_clock() -> None:
    body = json.dumps({"type": "scan.created", "timestamp": "2026-03-12T10:30:00Z", "data": {}})
    stamp = int(time.time())
    signature = sign(SECRET, "msg_1", stamp, body.encode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }
    assert verify_webhook(SECRET, headers, body.encode())["type"] == "scan.created"
