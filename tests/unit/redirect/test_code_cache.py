from __future__ import annotations

from services.redirect.code_cache import MISS, CodeCache
from services.redirect.codes import CodeRecord


def record(code: str, qr_id: str = "qr_1") -> CodeRecord:
    return CodeRecord(qr_id, "acc_1", code, "https://example.com/", None, None, 0, 0, True)


def test_fresh_then_stale_after_ttl() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    cache.put("Abc1234", record("Abc1234"), now=0.0)
    assert cache.fresh("Abc1234", 59.0) == record("Abc1234")
    assert cache.fresh("Abc1234", 61.0) is MISS
    assert cache.stale("Abc1234") == record("Abc1234")


def test_negative_entries_expire_sooner() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    cache.put("Nope123", None, now=0.0)
    assert cache.fresh("Nope123", 1.0) is None
    assert cache.fresh("Nope123", 3.0) is MISS


def test_lru_bound() -> None:
    cache = CodeCache(2, ttl_s=60, negative_ttl_s=2)
    cache.put("Aaaaaa1", record("Aaaaaa1"), 0.0)
    cache.put("Bbbbbb1", record("Bbbbbb1"), 0.0)
    cache.fresh("Aaaaaa1", 1.0)  # touch: B is now the least recent
    cache.put("Cccccc1", record("Cccccc1"), 0.0)
    assert len(cache) == 2
    assert cache.stale("Bbbbbb1") is MISS
    assert cache.stale("Aaaaaa1") is not MISS


def test_evictions_bump_generation() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    cache.put("Abc1234", record("Abc1234", "qr_a"), 0.0)
    cache.put("Def5678", record("Def5678", "qr_b"), 0.0)
    generation = cache.generation
    assert cache.evict("Abc1234")
    assert cache.evict_qr_id("qr_b") == 1
    assert cache.generation > generation
    assert len(cache) == 0


def test_expire_all_keeps_entries_as_stale_fallback() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    cache.put("Abc1234", record("Abc1234"), 0.0)
    cache.expire_all()
    assert cache.fresh("Abc1234", 1.0) is MISS
    assert cache.stale("Abc1234") == record("Abc1234")


def test_stale_entries_are_a_fallback_only() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    cache.put_stale("Abc1234", record("Abc1234"))
    assert cache.fresh("Abc1234", 1.0) is MISS
    assert cache.stale("Abc1234") == record("Abc1234")
