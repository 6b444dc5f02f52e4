"""Idempotency domain: key rules, fingerprints, decisions, kept headers, sealing."""

from __future__ import annotations

import json

import pytest

from services.gateway.idempotency.policy import (
    HEADER,
    MAX_KEY_LENGTH,
    Outcome,
    canonical_body,
    decide,
    fingerprint,
    is_storable,
    kept_headers,
    key_hash,
    parse_key,
    poll_delays,
    seal,
    unseal,
)
from services.runtime.errors import ApiError


def test_key_absent_is_none_and_bounds_are_1_to_255() -> None:
    assert parse_key(None) is None
    assert parse_key("k") == "k"
    assert parse_key("x" * MAX_KEY_LENGTH) == "x" * MAX_KEY_LENGTH
    for bad in ("", "x" * (MAX_KEY_LENGTH + 1)):
        with pytest.raises(ApiError) as info:
            parse_key(bad)
        assert info.value.code == "INVALID_PARAMETER"
        assert info.value.field == HEADER


def test_key_hash_is_stable_and_never_the_key() -> None:
    assert key_hash("order-42") == key_hash("order-42")
    assert key_hash("order-42") != key_hash("order-43")
    assert len(key_hash("order-42")) == 32
    assert b"order-42" not in key_hash("order-42")


def test_fingerprint_ignores_json_key_order_and_whitespace() -> None:
    first = json.dumps({"type": "url", "content": "https://e.com", "size": 300}).encode()
    again = b'{ "size":300,\n "content" : "https://e.com","type":"url" }'
    assert fingerprint("POST", "/v1/qrcodes/generate", first) == fingerprint(
        "post", "/v1/qrcodes/generate", again
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/qrcodes/generate", b'{"type":"url","content":"https://e.com/2"}'),
        ("POST", "/v1/qrcodes/dynamic", b'{"type":"url","content":"https://e.com"}'),
        ("PUT", "/v1/qrcodes/generate", b'{"type":"url","content":"https://e.com"}'),
        ("POST", "/v1/qrcodes/generate", b'{"type":"url","content":"https://e.com","size":1}'),
    ],
)
def test_fingerprint_changes_with_method_path_or_body(method: str, path: str, body: bytes) -> None:
    base = fingerprint("POST", "/v1/qrcodes/generate", b'{"type":"url","content":"https://e.com"}')
    assert fingerprint(method, path, body) != base


def test_non_json_bodies_count_as_raw_bytes_and_never_collide_with_json() -> None:
    assert canonical_body(b"not json") == b"raw:not json"
    assert canonical_body(b"\xff\xfe") == b"raw:\xff\xfe"
    assert canonical_body(b'"x"') != canonical_body(b"x")
    assert fingerprint("POST", "/p", b"a b") != fingerprint("POST", "/p", b"a  b")
    # Unicode survives canonicalisation as UTF-8, escaped or not.
    assert canonical_body('{"t":"é"}'.encode()) == canonical_body(b'{"t":"\\u00e9"}')


def test_fingerprint_takes_the_query_in_any_order() -> None:
    image = b"\x89PNG..."
    plain = fingerprint("POST", "/v1/decode", image)
    assert fingerprint("POST", "/v1/decode", image, []) == plain  # as before queries counted
    qr_only = fingerprint("POST", "/v1/decode", image, [("formats", "QR")])
    assert qr_only != plain
    assert fingerprint("POST", "/v1/decode", image, [("formats", "EAN13")]) != qr_only
    both = [("formats", "QR"), ("formats", "EAN13")]
    assert fingerprint("POST", "/v1/decode", image, both) == fingerprint(
        "POST", "/v1/decode", image, both[::-1]
    )
    # a body that happens to spell the query is not the query
    assert fingerprint("POST", "/p", b'query:[["a", "b"]]') != fingerprint(
        "POST", "/p", b"", [("a", "b")]
    )


def test_path_and_method_cannot_run_into_each_other() -> None:
    assert fingerprint("POS", "T/x", b"") != fingerprint("POST", "/x", b"")


def test_decisions() -> None:
    mine, other = b"a" * 32, b"b" * 32
    assert decide(mine, True, mine) is Outcome.REPLAY
    assert decide(mine, False, mine) is Outcome.WAIT
    assert decide(other, True, mine) is Outcome.CONFLICT
    assert decide(other, False, mine) is Outcome.CONFLICT


def test_only_non_5xx_responses_are_stored() -> None:
    assert is_storable(200) and is_storable(201) and is_storable(400) and is_storable(409)
    assert not is_storable(500) and not is_storable(503)


def test_kept_headers_are_the_ones_that_describe_the_response() -> None:
    headers = {
        "Content-Type": "image/png",
        "X-QR-Id": "qr_1",
        "X-Request-Id": "req",
        "X-RateLimit-Remaining": "5",
        "Location": "/v1/qrcodes/qr_1",
    }
    assert kept_headers(headers) == (
        ("Content-Type", "image/png"),
        ("X-QR-Id", "qr_1"),
        ("Location", "/v1/qrcodes/qr_1"),
    )


def test_poll_delays_back_off_and_are_bounded() -> None:
    delays = list(poll_delays(1.0))
    assert delays[0] == pytest.approx(0.01)
    assert max(delays) <= 0.1
    assert sum(delays) == pytest.approx(1.0)
    assert list(poll_delays(0.0)) == []


@pytest.mark.parametrize("body", [b"", b"{}", b'{"api_key":"qrf_secret"}', bytes(range(256)) * 40])
def test_seal_round_trip_hides_the_body(body: bytes) -> None:
    sealed = seal("key-1", "acc_1", body)
    assert unseal("key-1", "acc_1", sealed) == body
    if len(body) >= 8:
        assert body not in sealed
    assert seal("key-1", "acc_1", body) != sealed  # fresh nonce each time


def test_unseal_refuses_another_key_account_or_tampering() -> None:
    sealed = seal("key-1", "acc_1", b'{"api_key":"qrf_secret"}')
    for key, account in (("key-2", "acc_1"), ("key-1", "acc_2")):
        with pytest.raises(ValueError, match="authentication"):
            unseal(key, account, sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ValueError, match="authentication"):
        unseal("key-1", "acc_1", tampered)
    with pytest.raises(ValueError, match="not a sealed"):
        unseal("key-1", "acc_1", b"\x01" + sealed[1:])
