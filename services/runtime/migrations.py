"""Plain-SQL migrations, owned by the service that owns the tables.

Each ``services/<service>/migrations/NNN_name.sql`` (Postgres only; the analytics service keeps
its ClickHouse schema in ``clickhouse_migrations/``) is applied once, in name order per service,
inside a transaction, under an advisory lock so two starting replicas never race. Run with
``python -m services.runtime.migrations`` (uses ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg

from services.runtime.config import env_str
from services.runtime.logs import configure_logging

log = logging.getLogger(__name__)

SERVICES_DIR: Final = Path(__file__).resolve().parent.parent
# Arbitrary constant shared by every migrating process.
_LOCK_ID: Final = 72_410_001
DEFAULT_DATABASE_URL: Final = "postgresql://postgres@127.0.0.1:5432/qrforge"


@dataclass(frozen=True, slots=True)
class Migration:
    service: str
    name: str
    sql: str


def discover(services_dir: Path = SERVICES_DIR) -> list[Migration]:
    found = [
        Migration(path.parent.parent.name, path.name, path.read_text(encoding="utf-8"))
        for path in services_dir.glob("*/migrations/*.sql")
    ]
    return sorted(found, key=lambda m: (m.service, m.name))


async def apply_migrations(dsn: str, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is not applied yet; returns the migrations applied by this call."""
    pending = discover() if migrations is None else migrations
    conn = await asyncpg.connect(dsn)
    applied: list[Migration] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   service text NOT NULL,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now(),
                   PRIMARY KEY (service, name))"""
        )
        done = {
            (r["service"], r["name"])
            for r in await conn.fetch("SELECT service, name FROM schema_migrations")
        }
        for migration in pending:
            if (migration.service, migration.name) in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (service, name) VALUES ($1, $2)",
                    migration.service,
                    migration.name,
                )
            log.info(
                "migration applied", extra={"migration": f"{migration.service}/{migration.name}"}
            )
            applied.append(migration)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()
    return applied


def main() -> None:
    configure_logging("migrations", env_str("LOG_LEVEL", "INFO"))
    applied = asyncio.run(apply_migrations(env_str("DATABASE_URL", DEFAULT_DATABASE_URL)))
    log.info("migrations done", extra={"applied": len(applied)})


if __name__ == "__main__":
    main()
