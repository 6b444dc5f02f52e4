"""The migration that introduces the per-account code counter counts the codes that already
exist, so quotas and usage stay right across the upgrade (real Postgres, scratch database)."""

from __future__ import annotations

import asyncpg

from services.runtime.migrations import Migration, apply_migrations, discover
from tests.support.backing import create_database, drop_database, scratch_name

COUNTER_MIGRATION = ("gateway", "004_account_code_counts.sql")


def _before_counter(migration: Migration) -> bool:
    return migration.service != "gateway" or migration.name < COUNTER_MIGRATION[1]


async def _insert_qr(
    conn: asyncpg.Connection, qr_id: str, account_id: str, *, deleted: bool
) -> None:
    await conn.execute(
        """INSERT INTO qr_codes (qr_id, account_id, kind, qr_type, content, payload, format, size,
               error_correction, quiet_zone, design, version, deleted_at)
           VALUES ($1, $2, 'static', 'text', '"x"'::jsonb, 'x', 'png', 512, 'M', 4, '{}'::jsonb,
               1, CASE WHEN $3 THEN now() END)""",
        qr_id,
        account_id,
        deleted,
    )


async def _insert_barcode(conn: asyncpg.Connection, barcode_id: str, account_id: str) -> None:
    await conn.execute(
        """INSERT INTO barcodes (barcode_id, account_id, symbology, value, output, width, height,
               show_text)
           VALUES ($1, $2, 'CODE128', 'X', 'png', 400, 200, true)""",
        barcode_id,
        account_id,
    )


async def test_the_counter_starts_from_the_live_qr_codes_of_each_account() -> None:
    assert COUNTER_MIGRATION in {(m.service, m.name) for m in discover()}
    name = scratch_name("qrforge_migration")
    dsn = await create_database(name)
    try:
        earlier = [m for m in discover() if _before_counter(m)]
        await apply_migrations(dsn, earlier)
        conn = await asyncpg.connect(dsn)
        try:
            for i in range(3):
                await _insert_qr(conn, f"qr_live_{i}", "acc_busy", deleted=False)
            await _insert_qr(conn, "qr_gone_1", "acc_busy", deleted=True)
            await _insert_qr(conn, "qr_gone_2", "acc_emptied", deleted=True)
            await _insert_barcode(conn, "bc_1", "acc_busy")  # barcodes are not under the quota
            await _insert_barcode(conn, "bc_2", "acc_barcodes_only")

            applied = await apply_migrations(dsn)
            assert (applied[0].service, applied[0].name) == COUNTER_MIGRATION

            rows = await conn.fetch("SELECT account_id, qr_codes FROM account_code_counts")
            assert {row["account_id"]: row["qr_codes"] for row in rows} == {"acc_busy": 3}
        finally:
            await conn.close()
    finally:
        await drop_database(name)
