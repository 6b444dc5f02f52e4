from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from services.keys import tokens

PEPPER = b"unit-test-pepper"


def test_secret_has_prefix_and_base62_body_of_at_least_32_chars() -> None:
    secret = tokens.mint_secret()
    assert re.fullmatch(r"sk_live_[0-9A-Za-z]{32,}", secret)
    assert len(secret) == tokens.KEY_LENGTH
    assert tokens.SECRET_LENGTH >= 32


def test_secrets_carry_enough_entropy_and_never_repeat() -> None:
    assert tokens.SECRET_LENGTH * math.log2(len(tokens.BASE62)) >= 190
    minted = [tokens.mint_secret() for _ in range(2_000)]
    assert len(set(minted)) == len(minted)
    # Every base62 character shows up, none dominates: a crude check that choice is uniform.
    counts = Counter("".join(secret[len(tokens.KEY_PREFIX) :] for secret in minted))
    assert set(counts) == set(tokens.BASE62)
    expected = 2_000 * tokens.SECRET_LENGTH / 62
    assert all(0.8 * expected < n < 1.2 * expected for n in counts.values())


def test_ids_are_prefixed_and_carry_at_least_60_random_bits() -> None:
    account_id, key_id = tokens.new_account_id(), tokens.new_key_id()
    assert re.fullmatch(r"acc_[0-9A-Za-z]{16}", account_id)
    assert re.fullmatch(r"key_[0-9A-Za-z]{16}", key_id)
    assert tokens.ID_LENGTH * math.log2(62) >= 60
    assert len({tokens.new_key_id() for _ in range(1_000)}) == 1_000


def test_stored_hash_is_hmac_hex_and_does_not_contain_the_secret() -> None:
    secret = tokens.mint_secret()
    stored = tokens.hash_secret(PEPPER, secret)
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert secret not in stored
    assert secret[len(tokens.KEY_PREFIX) :] not in stored
    assert tokens.hash_secret(PEPPER, secret) == stored
    assert tokens.hash_secret(b"another-pepper", secret) != stored
    assert tokens.hash_secret(PEPPER, tokens.mint_secret()) != stored


def test_display_prefix_shows_only_a_few_random_chars() -> None:
    secret = tokens.mint_secret()
    prefix = tokens.display_prefix(secret)
    assert prefix == secret[:12]
    assert prefix.startswith("sk_live_")
    assert len(prefix) - len(tokens.KEY_PREFIX) == 4


def test_minted_secret_is_well_formed() -> None:
    assert tokens.is_well_formed(tokens.mint_secret())


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "sk_live_",
        "sk_test_" + "a" * tokens.SECRET_LENGTH,
        "SK_LIVE_" + "a" * tokens.SECRET_LENGTH,
        "sk_live_" + "a" * (tokens.SECRET_LENGTH - 1),
        "sk_live_" + "a" * (tokens.SECRET_LENGTH + 1),
        "sk_live_" + "a" * (tokens.SECRET_LENGTH - 1) + "-",
        "sk_live_" + "a" * (tokens.SECRET_LENGTH - 1) + "é",
        "sk_live_" + "a" * (tokens.SECRET_LENGTH - 1) + " ",
        " sk_live_" + "a" * (tokens.SECRET_LENGTH - 1),
        "Bearer sk_live_" + "a" * (tokens.SECRET_LENGTH - 7),
    ],
)
def test_malformed_keys_are_rejected(presented: str) -> None:
    assert not tokens.is_well_formed(presented)
