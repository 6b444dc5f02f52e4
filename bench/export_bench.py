"""Scan export bench: ``python -m bench.export_bench`` prints one JSON object.

Starts its own system (throw-away DB + vhost; render, keys, gateway and analytics as
processes), stores ``BENCH_EXPORT_SCANS`` scans (1,000,000 by default) of one code straight in
ClickHouse (INSERT ... SELECT FROM numbers(), before analytics opens its chdb directory: an
embedded directory has one owner at a time), then streams
``GET /v1/qrcodes/{qr_id}/scans/export?format=csv`` and counts the rows, while the gateway's
resident memory is sampled from /proc every 20 ms. Bars (DESIGN.md v1.1): >= 200,000 rows/s,
and the gateway's peak RSS grows by < 50 MiB over its RSS before the export. Baseline in the
same run: the same rows read straight from analytics' ExportScans over gRPC (no gateway, no
HTTP); the ratio is what the gateway's relaying costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.grpc_client import open_channel
from tests.support.processes import ROOT, ServiceProcess, free_port
from tests.support.stack import gateway_stack, unlimited_account

SCANS = int(os.environ.get("BENCH_EXPORT_SCANS", "1000000"))
BAR_ROWS_PER_S = 200_000
BAR_RSS_GROWTH_MIB = 50.0

FILL_SQL = """
INSERT INTO scans (event_id, account_id, qr_id, ts, country, city, device, os, browser, is_bot,
                   referrer, language, visitor_hash)
SELECT
    lower(hex(sipHash128(number, 'export'))),
    {account:String},
    {qr:String},
    now64(3, 'UTC') - toIntervalMillisecond((number * 7919) % (30 * 86400000)),
    ['US', 'FR', 'DE', 'GB', 'JP', ''][number % 6 + 1],
    ['', 'Paris', 'Berlin', 'Saint-Étienne, "centre"'][number % 4 + 1],
    ['mobile', 'mobile', 'desktop', 'tablet', 'other'][number % 5 + 1],
    ['ios', 'android', 'windows', 'macos', 'linux', 'other'][number % 6 + 1],
    ['Safari', 'Chrome', 'Firefox', 'Edge'][number % 4 + 1],
    number % 20 = 0,
    ['', 'google.com', 't.co', 'facebook.com'][number % 4 + 1],
    'en',
    cityHash64(number % 300000)
FROM numbers({rows:UInt64})
"""


def fill(url: str, account: str, qr_id: str, rows: int) -> None:
    """Run in a child process, before analytics starts on the directory."""
    import clickhouse_connect  # noqa: PLC0415

    from services.analytics.storage import migration_statements  # noqa: PLC0415

    client = clickhouse_connect.get_client(dsn=url)
    for statement in migration_statements():
        client.command(statement)
    client.command(FILL_SQL, parameters={"account": account, "qr": qr_id, "rows": rows})
    client.command("OPTIMIZE TABLE scans FINAL")
    client.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def http_export(url: str, key: str, qr_id: str) -> tuple[int, float, int]:
    """(rows, seconds, bytes) of the export through the gateway."""
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        async with session.get(
            f"{url}/v1/qrcodes/{qr_id}/scans/export",
            params={"format": "csv"},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"export failed: {resp.status} {await resp.text()}")
            lines = size = 0
            async for chunk in resp.content.iter_chunked(1 << 20):
                lines += chunk.count(b"\n")
                size += len(chunk)
        return lines - 1, time.perf_counter() - started, size  # minus the header line


async def grpc_export(address: str, token: str, account: str, qr_id: str) -> tuple[int, float]:
    async with open_channel(address, auth_token=token) as channel:
        stub = analytics_pb2_grpc.AnalyticsServiceStub(channel)
        query = analytics_pb2.ScanExportQuery(
            query=analytics_pb2.StatsQuery(account_id=account, qr_id=qr_id, tz="UTC"),
            format="csv",
        )
        started = time.perf_counter()
        rows = 0
        async for piece in stub.ExportScans(query, timeout=600):
            rows += piece.data.count(b"\n")
        return rows, time.perf_counter() - started


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--fill":
        fill(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    scratch = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        run(scratch / "clickhouse")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(data_dir: Path) -> None:
    token = secrets.token_urlsafe(32)
    analytics_port, analytics_admin = free_port(), free_port()
    address = f"127.0.0.1:{analytics_port}"
    env = {GRPC_AUTH_TOKEN_ENV: token, "ANALYTICS_ADDR": address}
    with gateway_stack("qrforge_export_bench", env) as stack:
        account = unlimited_account(stack, "bench")

        async def make_code() -> str:
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    f"{stack.gateway_url}/v1/qrcodes/dynamic",
                    json={"name": "exported", "destination_url": "https://example.com/x"},
                    headers=account.headers,
                ) as resp,
            ):
                body: dict[str, Any] = await resp.json()
                return str(body["data"]["qr_id"])

        qr_id = asyncio.run(make_code())
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bench.export_bench", "--fill", f"chdb://{data_dir}",
             account.account_id, qr_id, str(SCANS)],
            cwd=ROOT, check=True,
        )  # fmt: skip
        fill_s = time.perf_counter() - started
        analytics = ServiceProcess(
            "analytics-export-bench", "services.analytics",
            {**stack.base_env, "ANALYTICS_PORT": str(analytics_port),
             "ANALYTICS_ADMIN_PORT": str(analytics_admin), "CLICKHOUSE_URL": f"chdb://{data_dir}",
             "VISITOR_SALT": "bench", "SCAN_RETENTION_DAYS": "0"},
            analytics_admin,
        )  # fmt: skip
        analytics.start()
        try:
            analytics.wait_ready(120)
            gateway = next(p for p in stack.processes if p.module == "services.gateway")
            assert gateway.process is not None
            gateway_pid = gateway.process.pid
            asyncio.run(http_export(stack.gateway_url, account.api_key, qr_id))  # warm-up
            direct_rows, direct_s = asyncio.run(
                grpc_export(address, token, account.account_id, qr_id)
            )
            before = rss_bytes(gateway_pid)
            with RssSampler(gateway_pid) as sampler:
                rows, seconds, size = asyncio.run(
                    http_export(stack.gateway_url, account.api_key, qr_id)
                )
            growth_mib = max(0, sampler.peak - before) / (1024 * 1024)
        finally:
            analytics.stop()
    rate = rows / seconds
    direct_rate = direct_rows / direct_s
    result = {
        "benchmark": "scan_export",
        "scans": SCANS,
        "rows": rows,
        "rows_match": rows == SCANS == direct_rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rate),
        "mib": round(size / (1024 * 1024), 1),
        "gateway_rss_before_mib": round(before / (1024 * 1024), 1),
        "gateway_rss_peak_growth_mib": round(growth_mib, 1),
        "baseline_grpc_rows_per_s": round(direct_rate),
        "ratio_gateway_over_grpc": round(rate / direct_rate, 2),
        "fill_s": round(fill_s, 1),
        "bar": {"rows_per_s": BAR_ROWS_PER_S, "rss_growth_mib": BAR_RSS_GROWTH_MIB},
        "meets_bar": rate >= BAR_ROWS_PER_S and growth_mib < BAR_RSS_GROWTH_MIB and rows == SCANS,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))
    sys.exit(0 if result["rows_match"] else 1)


if __name__ == "__main__":
    main()
