"""Static codes stored a group at a time, on the real catalog: each create gets its own row and
count, and a group whose statement fails is stored again one by one, so only its bad code fails."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
from prometheus_client import REGISTRY

from services.gateway.backends.render import Rendered
from services.gateway.qrcodes import storage
from services.gateway.qrcodes.grouped_inserts import GroupedInserts
from services.gateway.qrcodes.prepared import PreparedCode
from services.gateway.qrcodes.records import StoredQR
from services.runtime.ids import new_id
from services.runtime.postgres import open_pool

RENDERED = Rendered(b"png", "image/png", 2, "M")


def static_code(account_id: str, content: str) -> PreparedCode:
    now = datetime.now(UTC)
    record = StoredQR(
        qr_id=new_id("qr"), account_id=account_id, kind="static", qr_type="text", name=None,
        content=content, payload=content, format="png", size=512, error_correction="M",
        quiet_zone=4, design={"fg_color": "#000000"}, logo_sha256=None, version=2,
        created_at=now, updated_at=now,
    )  # fmt: skip
    return PreparedCode(record, RENDERED, None)


async def test_concurrent_creates_are_stored_and_counted_each(database_url: str) -> None:
    pool = await open_pool(database_url)
    try:
        inserts = GroupedInserts(pool)
        accounts = [new_id("acc"), new_id("acc")]
        prepared = [static_code(accounts[n % 2], f"code {n}") for n in range(40)]
        stored = await asyncio.gather(*(inserts.store(p, max_codes=0) for p in prepared))
        assert [record.qr_id for record, _ in stored] == [p.record.qr_id for p in prepared]
        for account in accounts:
            assert await storage.count_codes(pool, account) == (20, 0)
            rows = await pool.fetch(
                "SELECT content FROM qr_codes WHERE account_id = $1 ORDER BY content", account
            )
            assert sorted(row["content"] for row in rows) == sorted(
                p.record.content for p in prepared if p.record.account_id == account
            )
    finally:
        await pool.close()


def groups_stored() -> tuple[float, float]:
    """(groups, codes) stored through grouped inserts so far in this process."""
    labels = {"batch": "qr_inserts"}
    count = REGISTRY.get_sample_value("qrforge_coalesced_batch_size_count", labels) or 0.0
    total = REGISTRY.get_sample_value("qrforge_coalesced_batch_size_sum", labels) or 0.0
    return count, total


async def test_a_group_with_a_clashing_code_stores_the_others(database_url: str) -> None:
    pool = await open_pool(database_url)
    try:
        # One group at a time: the first create goes alone, the six arriving meanwhile together.
        inserts = GroupedInserts(pool, groups_in_flight=1)
        account = new_id("acc")
        taken = static_code(account, "first")
        await inserts.store(taken, max_codes=0)
        groups_before, codes_before = groups_stored()
        # One create's id is taken already (ids are random: this stands for a broken row).
        clash = PreparedCode(
            replace(static_code(account, "clash").record, qr_id=taken.record.qr_id), RENDERED, None
        )
        warm, group = (
            static_code(account, "alone"),
            [static_code(account, f"fine {n}") for n in range(5)],
        )
        gathered = await asyncio.gather(
            *(inserts.store(p, max_codes=0) for p in [warm, *group[:2], clash, *group[2:]]),
            return_exceptions=True,
        )
        assert groups_stored() == (groups_before + 2, codes_before + 7)
        outcomes = gathered[1:]
        assert isinstance(outcomes[2], asyncpg.UniqueViolationError)
        fine = [outcome for n, outcome in enumerate(outcomes) if n != 2]
        assert all(isinstance(outcome, tuple) for outcome in fine)
        assert await storage.count_codes(pool, account) == (7, 0)  # its count went back too
        row = await pool.fetchrow(
            "SELECT content FROM qr_codes WHERE qr_id = $1", taken.record.qr_id
        )
        assert row["content"] == "first"
    finally:
        await pool.close()


async def test_a_limited_account_is_never_stored_past_its_limit(database_url: str) -> None:
    max_codes = 3
    pool = await open_pool(database_url)
    try:
        inserts = GroupedInserts(pool)
        account = new_id("acc")
        outcomes = await asyncio.gather(
            *(inserts.store(static_code(account, f"c{n}"), max_codes=max_codes) for n in range(8)),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 5 and {getattr(o, "code", None) for o in refused} == {
            "QUOTA_EXCEEDED"
        }
        assert await storage.count_codes(pool, account) == (3, 0)
    finally:
        await pool.close()
