"""Idempotency keys: what identifies a request, when to replay, conflict or wait. No I/O.

A POST sent with ``Idempotency-Key`` is executed at most once per API key (so per account) and
Idempotency-Key within :data:`RETENTION_S`; every later request of that API key with the same
Idempotency-Key gets the first response back, byte for byte, if its *fingerprint* matches, and
``409 IDEMPOTENCY_CONFLICT`` if it does not. Another API key of the account never gets the
response (it could hold fewer permissions than the key that made it): its request is its own.

The fingerprint is the SHA-256 of the method, the path and the canonical body: a body that is
JSON is re-serialised with sorted keys and no insignificant whitespace, so a client that
re-encodes the same object differently on retry is not refused; any other body counts as its
raw bytes. Headers (``Accept`` included) are not part of it: the replay is the first response,
whatever the retry asks for.

Storage never holds the key itself, only :func:`key_hash`. Stored response bodies are
*sealed* (:func:`seal`) with a key derived from the raw ``Idempotency-Key`` and the account id,
so the idempotency table alone does not reveal what was answered -- ``POST /v1/api-keys``
answers with a secret that must not sit in plain text for 24 h. Sealing is encrypt-then-MAC
from standard primitives (a SHAKE-256 keystream under a random nonce, then HMAC-SHA256); it is
as strong as the client's key is unguessable: clients should send random keys (UUIDs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.gateway.http.client_json import loads_client_json
from services.runtime.errors import ApiError

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_LENGTH: Final = 255
RETENTION_S: Final = 24 * 3600
# A pending claim older than this belongs to a request that died (process killed mid-request);
# longer than any request can take (a batch of 100 slow renders), so a live one is never stolen.
CLAIM_LEASE_S: Final = 120.0
# How long an identical concurrent request waits for the first one before giving up with 409.
WAIT_TIMEOUT_S: Final = 30.0
# The response headers that are part of "the response"; the rest (request id, rate limit,
# date) describe the replaying request and are set fresh.
KEPT_HEADERS: Final = ("Content-Type", "X-QR-Id", "X-QR-Warnings", "X-Barcode-Id", "Location")

_KEY_HASH_CONTEXT: Final = b"qrforge/idempotency/key-hash\x00"
_SEAL_CONTEXT: Final = b"qrforge/idempotency/seal\x00"
_SEAL_VERSION: Final = b"\x02"
_NONCE_BYTES: Final = 12


class Outcome(Enum):
    """What to do with a request whose key is already recorded."""

    REPLAY = "replay"  # same request, response stored: send it again
    WAIT = "wait"  # same request, still executing elsewhere: wait for its response
    CONFLICT = "conflict"  # the key was used for a different request: 409


def parse_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header value, or ``None`` when absent; 1 to 255 characters."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH:
        raise ApiError(
            "INVALID_PARAMETER",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters",
            field=HEADER,
        )
    return raw


def _key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def key_hash(key: str) -> bytes:
    """What storage keeps instead of the key (scoped by account and API key ids beside it)."""
    return hashlib.sha256(_KEY_HASH_CONTEXT + _key_bytes(key)).digest()


def canonical_body(body: bytes) -> bytes:
    """JSON re-serialised canonically; anything else (not JSON, not UTF-8) as its raw bytes.

    The two forms carry different prefixes so they can never collide.
    """
    try:
        value = loads_client_json(body)
    except (ValueError, UnicodeDecodeError):  # too deep included: the handler refuses it
        return b"raw:" + body
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"json:" + canonical.encode("utf-8", "surrogatepass")


def fingerprint(
    method: str, path: str, body: bytes, query: Iterable[tuple[str, str]] = ()
) -> bytes:
    """What makes two requests the same one: method, path, query parameters (in any order;
    a query can change what is done, such as ``POST /v1/decode?formats=QR``) and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogateescape")):
        digest.update(len(part).to_bytes(4, "big") + part)
    parameters = sorted(query)
    if parameters:  # absent from requests without one, whose fingerprints stay as they were
        encoded = json.dumps(parameters, ensure_ascii=False).encode("utf-8", "surrogatepass")
        digest.update(b"query:" + len(encoded).to_bytes(4, "big") + encoded)
    digest.update(canonical_body(body))
    return digest.digest()


def decide(stored_fingerprint: bytes, complete: bool, request_fingerprint: bytes) -> Outcome:
    """For a live (unexpired) record of the same account, API key and Idempotency-Key."""
    if not hmac.compare_digest(stored_fingerprint, request_fingerprint):
        return Outcome.CONFLICT
    return Outcome.REPLAY if complete else Outcome.WAIT


def is_storable(status: int) -> bool:
    """5xx responses are not kept, so a retry executes again; 2xx-4xx are the answer."""
    return status < 500


def kept_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, headers[name]) for name in KEPT_HEADERS if name in headers)


def poll_delays(timeout_s: float = WAIT_TIMEOUT_S) -> Iterator[float]:
    """Sleeps between looks at a pending record: 10 ms doubling to 100 ms, ``timeout_s`` in
    all."""
    delay, waited = 0.01, 0.0
    while waited < timeout_s:
        step = min(delay, timeout_s - waited)
        yield step
        waited += step
        delay = min(delay * 2, 0.1)


def _seal_key(key: str, account_id: str) -> AESGCM:
    # The stored body is only readable with the client's Idempotency-Key: the table alone never
    # reveals a response (POST /v1/api-keys answers with a secret).
    derived = hmac.new(_key_bytes(key), _SEAL_CONTEXT + account_id.encode(), hashlib.sha256)
    return AESGCM(derived.digest())


def seal(key: str, account_id: str, body: bytes) -> bytes:
    """``version | nonce | AES-256-GCM(body)``; only the holder of ``key`` can :func:`unseal`."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _SEAL_VERSION + nonce + _seal_key(key, account_id).encrypt(nonce, body, _SEAL_VERSION)


def unseal(key: str, account_id: str, sealed: bytes) -> bytes:
    """The body :func:`seal` was given; ``ValueError`` if ``sealed`` was not made with this key
    and account or was altered."""
    if len(sealed) < 1 + _NONCE_BYTES or sealed[:1] != _SEAL_VERSION:
        raise ValueError("not a sealed idempotency body")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return _seal_key(key, account_id).decrypt(nonce, ciphertext, _SEAL_VERSION)
    except InvalidTag:
        raise ValueError("sealed idempotency body failed authentication") from None
