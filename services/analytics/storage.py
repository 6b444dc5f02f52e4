"""The ``scans`` table in ClickHouse, through clickhouse-connect: schema migrations and
retention at start, batch inserts, and read queries for the stats.

``CLICKHOUSE_URL`` picks the engine: ``chdb:///<dir>`` runs ClickHouse in this process (one
process per directory: this service is that process), ``http://host:8123[/db]`` talks to a
server. clickhouse-connect's clients are synchronous, so calls run on threads: one writer
thread (batches are inserted strictly in order) and ``query_workers`` reader threads, each
with its own client (a chdb handle serves one call at a time). Queries release the GIL while
the engine works, so readers do not stall the consumer's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import clickhouse_connect
import msgspec
from clickhouse_connect.driver.client import Client

from services.analytics.enrichment import COLUMNS, ScanRow

log = logging.getLogger(__name__)

TABLE: Final = "scans"
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "clickhouse_migrations"
INSERT_FORMAT: Final = "JSONCompactEachRow"
INSERT_SETTINGS: Final = {
    # A batch may span many months after an outage; never fail a batch for that.
    "max_partitions_per_insert_block": 0,
    # Timestamps arrive as RFC 3339 ("2026-03-12T10:30:00.123Z").
    "date_time_input_format": "best_effort",
}
_TTL_DAYS: Final = re.compile(r"TTL\s+toDateTime\(ts\)\s*\+\s*toIntervalDay\((\d+)\)")


_row_encoder = msgspec.json.Encoder()


def encode_rows(rows: Sequence[ScanRow]) -> bytes:
    """A batch in ClickHouse's ``JSONCompactEachRow`` format, one JSON array per line.

    Encoded by msgspec and parsed by the engine, which works with the GIL released: a small
    fraction of the Python time clickhouse-connect's row-by-row Native encoder takes, which
    matters on a thread that shares the interpreter with the consumer.
    """
    return _row_encoder.encode_lines(rows)


def migration_statements(directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The statements of every ``NNN_name.sql`` in name order, comments removed. Each is
    idempotent (``IF NOT EXISTS``), so all of them run at every start."""
    statements: list[str] = []
    for path in sorted(directory.glob("*.sql")):
        text = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith("--")
        )
        statements.extend(part.strip() for part in text.split(";") if part.strip())
    return statements


def retention_statement(create_table_query: str, days: int) -> str | None:
    """The ``ALTER`` that brings the table's TTL to ``days`` (0 = keep forever), or ``None``
    when it already matches."""
    match = _TTL_DAYS.search(create_table_query)
    current = int(match.group(1)) if match else (-1 if "TTL " in create_table_query else 0)
    if current == days:
        return None
    if days == 0:
        return f"ALTER TABLE {TABLE} REMOVE TTL"
    return f"ALTER TABLE {TABLE} MODIFY TTL toDateTime(ts) + toIntervalDay({days})"


class ScanStore:
    def __init__(self, url: str, *, query_workers: int = 2) -> None:
        self.url = url
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="clickhouse-insert")
        self._reader_pool = ThreadPoolExecutor(query_workers, thread_name_prefix="clickhouse-query")
        self._local = threading.local()
        self._clients: list[Client] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> Client:
        """This thread's client, opened on first use."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = clickhouse_connect.get_client(dsn=self.url)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    async def _on_writer(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, func, *args)

    # -- start-up ---------------------------------------------------------------------------

    def _migrate(self, retention_days: int) -> None:
        client = self._client()
        for statement in migration_statements():
            client.command(statement)
        create = client.command(
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
            parameters={"t": TABLE},
        )
        alter = retention_statement(str(create), retention_days)
        if alter is not None:
            client.command(alter)
            log.info("scan retention changed", extra={"retention_days": retention_days})

    async def open(self, retention_days: int) -> None:
        """Connect the writer, apply the migrations and the retention; raises when ClickHouse
        is unreachable or the schema cannot be applied."""
        await self._on_writer(self._migrate, retention_days)

    # -- writes -----------------------------------------------------------------------------

    def _insert(self, rows: Sequence[ScanRow]) -> float:
        started = time.perf_counter()
        self._client().raw_insert(
            TABLE, COLUMNS, encode_rows(rows), settings=INSERT_SETTINGS, fmt=INSERT_FORMAT
        )
        return time.perf_counter() - started

    async def insert(self, rows: Sequence[ScanRow]) -> float:
        """Insert one batch; returns its duration in seconds. Raises on any failure, in which
        case the batch may or may not be stored: retrying it is safe (deduplicated)."""
        duration: float = await self._on_writer(self._insert, rows)
        return duration

    # -- reads ------------------------------------------------------------------------------

    def _query(self, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        result = self._client().query(sql, parameters=dict(parameters))
        return [tuple(row) for row in result.result_rows]

    async def query(self, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        rows: list[tuple[Any, ...]] = await loop.run_in_executor(
            self._reader_pool, self._query, sql, parameters
        )
        return rows

    def _raw_query(self, sql: str, parameters: Mapping[str, Any], fmt: str) -> bytes:
        return bytes(self._client().raw_query(sql, parameters=dict(parameters), fmt=fmt))

    async def raw_query(self, sql: str, parameters: Mapping[str, Any], fmt: str) -> bytes:
        """The result as ClickHouse formats it (``fmt``: CSV, JSONEachRow, ...), in memory."""
        loop = asyncio.get_running_loop()
        data: bytes = await loop.run_in_executor(
            self._reader_pool, self._raw_query, sql, parameters, fmt
        )
        return data

    async def ping(self) -> None:
        """Readiness: a round trip through a reader client."""
        await self.query("SELECT 1", {})

    def _command(self, sql: str) -> Any:
        return self._client().command(sql)

    async def command(self, sql: str) -> Any:
        """One statement on the writer thread (maintenance and benchmarks)."""
        return await self._on_writer(self._command, sql)

    async def close(self) -> None:
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:  # closing is best effort at shutdown
                log.warning("closing a ClickHouse client failed", exc_info=True)
