"""The resolver's cache filling when the cache changes during a load (fake store)."""

from __future__ import annotations

from typing import cast

import pytest

from services.redirect.code_cache import MISS, CodeCache
from services.redirect.codes import CodeRecord
from services.redirect.resolver import CodeResolver
from services.redirect.storage import CodeStore, DatabaseUnavailableError
from tests.unit.redirect.test_code_cache import record


class FlakyStore:
    """Answers the first fetch (running ``during`` meanwhile), then is down."""

    def __init__(self, answer: CodeRecord, during: object) -> None:
        self.answer = answer
        self.during = during
        self.calls = 0

    async def fetch(self, _code: str) -> CodeRecord | None:
        self.calls += 1
        if self.calls > 1:
            raise DatabaseUnavailableError("down")
        if callable(self.during):
            self.during()
        return self.answer


@pytest.mark.parametrize("change", ["expire_all", "evict"])
async def test_a_load_raced_by_a_cache_change_stays_as_a_fallback(change: str) -> None:
    """A broker reconnection (expire_all) or a catalog event (evict) during the first load:
    the record is not trusted as fresh, but it still serves while Postgres is down."""
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    code = "Abc1234"
    mutate = cache.expire_all if change == "expire_all" else (lambda: cache.evict(code))
    store = FlakyStore(record(code), mutate)
    resolver = CodeResolver(cache, cast(CodeStore, store))
    assert await resolver.resolve(code) == record(code)
    assert cache.fresh(code, 1.0) is MISS  # the next lookup asks Postgres again
    assert await resolver.resolve(code) == record(code)  # which is down: the fallback
    assert store.calls == 2


async def test_an_unraced_load_is_cached_fresh() -> None:
    cache = CodeCache(10, ttl_s=60, negative_ttl_s=2)
    store = FlakyStore(record("Abc1234"), None)
    resolver = CodeResolver(cache, cast(CodeStore, store))
    assert await resolver.resolve("Abc1234") == record("Abc1234")
    assert await resolver.resolve("Abc1234") == record("Abc1234")
    assert store.calls == 1
