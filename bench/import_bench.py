"""Import bench: ``python -m bench.import_bench`` prints one JSON object.

Starts its own system (throw-away DB + vhost; render, keys, gateway and the import worker as
processes), uploads one CSV of ``BENCH_IMPORT_ROWS`` lines (100,000 by default; ours, two
static URL codes for every dynamic one) and polls ``GET /v1/imports/{id}`` every 0.5 s until
it is done, recording the progress it shows. Bar (DESIGN.md v1.1): 100,000 rows <= 60 s with
progress visible while it runs. Baseline in the same run: the same kind of codes created
through ``POST /v1/qrcodes/batch`` (10 batches of 100, one after another), as codes/s; the
ratio says how the import's background path compares with the synchronous one.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import time
from typing import Any

import aiohttp

from tests.support.api_client import ApiClient
from tests.support.processes import free_port
from tests.support.stack import gateway_stack, unlimited_account

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
BAR_S = 60.0
BATCHES = 10


def import_file(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["kind", "type", "content", "name", "destination_url", "tags"])
    for i in range(rows):
        if i % 3 == 2:
            writer.writerow(["dynamic", "", "", f"link {i}", f"https://example.com/d/{i}", "bench"])
        else:
            writer.writerow(["static", "url", f"https://example.com/s/{i}", "", "", "bench"])
    return buffer.getvalue().encode()


async def batch_rate(api: ApiClient) -> float:
    items: list[dict[str, Any]] = []
    started = time.perf_counter()
    for b in range(BATCHES):
        items = [
            {
                "kind": "dynamic",
                "name": f"b{b}-{i}",
                "destination_url": f"https://example.com/b/{b}/{i}",
            }
            if i % 3 == 2
            else {"type": "url", "content": f"https://example.com/b/{b}/{i}"}
            for i in range(100)
        ]
        answer = await api.batch(items)
        if answer.status != 200 or answer.envelope["data"]["succeeded"] != len(items):
            raise RuntimeError(f"batch failed: {answer.status} {answer.body[:300]!r}")
    return BATCHES * len(items) / (time.perf_counter() - started)


async def run(url: str, key: str) -> dict[str, Any]:
    body = import_file(ROWS)
    async with aiohttp.ClientSession() as session:
        api = ApiClient(session, url, key)
        baseline = await batch_rate(api)
        started = time.perf_counter()
        answer = await api.request(
            "POST", "/v1/imports", params={"source": "qrforge"}, data=body,
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        accepted_s = time.perf_counter() - started
        job = answer.data(202)
        progress: list[tuple[float, int]] = []
        while job["status"] not in ("done", "failed"):
            await asyncio.sleep(0.5)
            job = (await api.request("GET", f"/v1/imports/{job['import_id']}")).data()
            progress.append((round(time.perf_counter() - started, 1), job["processed"]))
        elapsed = time.perf_counter() - started
    partial = sorted({done for _, done in progress if 0 < done < ROWS})
    rate = ROWS / elapsed
    return {
        "benchmark": "import_csv",
        "rows": ROWS,
        "status": job["status"],
        "succeeded": job["succeeded"],
        "failed": job["failed"],
        "upload_accepted_s": round(accepted_s, 2),
        "total_s": round(elapsed, 1),
        "rows_per_s": round(rate),
        "progress_samples": len(progress),
        "distinct_partial_progress_values": len(partial),
        "progress": progress[:: max(1, len(progress) // 12)],
        "baseline_batch_codes_per_s": round(baseline),
        "ratio_import_over_batch": round(rate / baseline, 2),
        "bar": {"total_s": BAR_S * ROWS / 100_000},
        "meets_bar": elapsed <= BAR_S * ROWS / 100_000 and len(partial) >= 2,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    with gateway_stack("qrforge_import_bench") as stack:
        admin = free_port()
        worker = stack.start(
            "imports-bench", "services.gateway.imports",
            {"IMPORT_WORKER_ADMIN_PORT": str(admin)}, admin,
        )  # fmt: skip
        worker.wait_ready()
        account = unlimited_account(stack, "bench")
        result = asyncio.run(run(stack.gateway_url, account.api_key))
    print(json.dumps(result))
    sys.exit(0 if result["status"] == "done" else 1)


if __name__ == "__main__":
    main()
