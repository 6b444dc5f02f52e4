"""Signatures that the ``standardwebhooks`` package (not ours) accepts; secrets that only open
with their key and their own row."""

from __future__ import annotations

import base64
import os
import time

import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks.webhooks import Webhook

from services.webhooks.endpoint_secrets import SecretBox, new_secret, secret_key_bytes
from services.webhooks.signing import signed_headers


def test_a_signed_body_verifies_with_the_reference_implementation() -> None:
    secret = new_secret()
    body = b'{"type":"scan.created","timestamp":"2026-03-12T10:30:00.000Z","data":{}}'
    headers = signed_headers(secret_key_bytes(secret), "msg_abc", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "scan.created",
        "timestamp": "2026-03-12T10:30:00.000Z",
        "data": {},
    }
    with pytest.raises(Exception):  # noqa: B017 - the package's own verification error
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(Exception):  # noqa: B017
        Webhook(new_secret()).verify(body, headers)


def test_secrets_are_32_random_bytes_behind_whsec() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_a_sealed_secret_opens_only_with_its_key_and_its_webhook_id() -> None:
    box, secret = SecretBox(os.urandom(32)), new_secret()
    sealed = box.seal(secret, "wh_1")
    assert secret.encode() not in sealed
    assert box.open(sealed, "wh_1") == secret
    with pytest.raises(InvalidTag):
        box.open(sealed, "wh_2")
    with pytest.raises(InvalidTag):
        SecretBox(os.urandom(32)).open(sealed, "wh_1")
    assert "key" in repr(box) and secret not in repr(box)
