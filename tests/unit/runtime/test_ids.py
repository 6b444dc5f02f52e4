"""Public ids: base62 characters drawn uniformly from the system's random source."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest

from services.runtime.ids import BASE62, new_id, random_base62


def test_each_random_byte_below_248_is_one_character_and_the_others_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = [bytes(range(256)), bytes(range(248, 256)) * 3, bytes([0, 61, 62, 247])]

    def token_bytes(count: int) -> bytes:
        return reads.pop(0)

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    every = random_base62(248)
    assert every == "".join(BASE62[byte % 62] for byte in range(248))
    # A read of only dropped bytes gives nothing, so another is made.
    assert random_base62(4) == "".join(BASE62[byte % 62] for byte in (0, 61, 62, 247))


def test_ids_are_uniform_over_the_alphabet() -> None:
    counts = Counter("".join(random_base62(16) for _ in range(4000)))
    assert set(counts) == set(BASE62)
    expected = 4000 * 16 / 62
    chi_square = sum((count - expected) ** 2 / expected for count in counts.values())
    assert chi_square < 120  # 61 degrees of freedom: p < 1e-5 above this
    assert new_id("qr").startswith("qr_") and len(new_id("qr")) == 19
