from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.analytics import stats as analytics_stats
from services.analytics.stats import ScanStats, StatsRequest
from services.gateway.backends import analytics as gateway_analytics
from services.runtime.errors import ApiError


class Engine:
    """A fake ClickHouse for the export loop: ``keys`` are the scans' (ts ms, event id) in
    sort order; the chunk-end query answers the key ``skip`` rows on, the chunk query the
    keys in range (as text lines)."""

    def __init__(self, count: int) -> None:
        self.keys = [(1_000 + i // 2, f"e{i:04d}") for i in range(count)]  # ties on ts
        self.queries = 0

    def _after(self, parameters: Mapping[str, Any]) -> list[tuple[int, str]]:
        if "after_ms" not in parameters:
            return self.keys
        after = (parameters["after_ms"], parameters["after_id"])
        return [key for key in self.keys if key > after]

    async def rows(self, sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.queries += 1
        rest = self._after(parameters)
        skip = int(parameters["skip"])
        return [rest[skip]] if skip < len(rest) else []

    async def raw(self, sql: str, parameters: Mapping[str, Any], fmt: str) -> bytes:
        assert fmt == "CSV"
        rest = self._after(parameters)
        if "end_ms" in parameters:
            end = (parameters["end_ms"], parameters["end_id"])
            rest = [key for key in rest if key <= end]
        return b"".join(f"{ms},{event}\n".encode() for ms, event in rest)


async def test_every_scan_comes_out_once_in_order_in_bounded_chunks() -> None:
    engine = Engine(23)
    scan_stats = ScanStats(engine.rows, raw=engine.raw)
    request = StatsRequest(account_id="acc", qr_id="qr_1")
    chunks = [chunk async for chunk in scan_stats.export_scans(request, "csv", chunk_rows=5)]
    lines = b"".join(data for data, _ in chunks).decode().splitlines()
    assert lines == [f"{ms},{event}" for ms, event in engine.keys]
    assert all(data.count(b"\n") <= 5 for data, _ in chunks)
    assert sum(rows for _, rows in chunks) == 23


async def test_an_export_needs_a_code_and_a_known_format() -> None:
    engine = Engine(0)
    scan_stats = ScanStats(engine.rows, raw=engine.raw)
    with pytest.raises(ApiError) as raised:
        _ = [c async for c in scan_stats.export_scans(StatsRequest(account_id="a"), "csv")]
    assert raised.value.field == "qr_id"
    with pytest.raises(ApiError) as raised:
        request = StatsRequest(account_id="a", qr_id="qr_1")
        _ = [c async for c in scan_stats.export_scans(request, "xlsx")]
    assert raised.value.field == "format"


async def test_an_overview_limited_to_codes_filters_on_them_and_an_empty_set_counts_nothing() -> (
    None
):
    seen: list[tuple[str, dict[str, Any]]] = []

    async def run(sql: str, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        seen.append((sql, dict(parameters)))
        return []

    scan_stats = ScanStats(run)
    await scan_stats.overview(StatsRequest(account_id="a", qr_ids=("qr_1", "qr_2")), 10)
    assert all("qr_id IN {codes:Array(String)}" in sql for sql, _ in seen)
    assert all(parameters["codes"] == ["qr_1", "qr_2"] for _, parameters in seen)
    seen.clear()
    overview = await scan_stats.overview(StatsRequest(account_id="a", qr_ids=()), 10)
    assert overview.total_scans == 0
    assert all(" AND 0" in sql for sql, _ in seen)


def test_gateway_and_analytics_agree_on_the_most_codes_an_overview_covers() -> None:
    assert gateway_analytics.MAX_OVERVIEW_CODES == analytics_stats.MAX_OVERVIEW_CODES
