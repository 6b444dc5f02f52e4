"""Gateway ``POST /v1/qrcodes/generate`` end to end under concurrent load.

Starts its own system (throw-away DB + vhost, render, keys, gateway as processes), warms up,
then drives a fixed number of requests from a separate load-generator process pool so the
client is not the bottleneck on this machine. Prints one JSON object. Bars (DESIGN.md):
≥ 1,000 req/s, p99 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from typing import Any

import aiohttp

from services.runtime.migrations import apply_migrations
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.stack import Stack

REQUESTS_PER_CLIENT = 1500
CONCURRENCY_PER_CLIENT = 16
CLIENTS = 2


async def _drive(url: str, key: str, requests: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body = {"type": "url", "content": f"https://example.com/p/{i}"}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"status {resp.status}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return latencies


def _client(args: tuple[str, str, int, int]) -> list[float]:
    return asyncio.run(_drive(*args))


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))]


def main() -> None:
    name = scratch_name("qrforge_bench")
    database_url = asyncio.run(create_database(name))
    asyncio.run(apply_migrations(database_url))
    result: dict[str, Any] = {}
    with scratch_vhost(name) as amqp_url:
        stack = Stack(
            database_url,
            amqp_url,
            {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "WARNING"},
        )
        try:
            for svc, module, port, admin, addr in (
                ("render", "services.render", "RENDER_PORT", "RENDER_ADMIN_PORT", "RENDER_ADDR"),
                ("keys", "services.keys", "KEYS_PORT", "KEYS_ADMIN_PORT", "KEYS_ADDR"),
            ):
                stack.start_grpc_service(svc, module, port, admin, addr).wait_ready()
            gateway, url = stack.start_gateway()
            gateway.wait_ready()
            account = stack.create_account(
                "bench", plan="enterprise", rate_limit=10_000_000, max_codes=0
            )
            target = f"{url}/v1/qrcodes/generate"
            _client((target, account.api_key, 200, 8))  # warm-up: caches, pools, JIT-free paths
            started = time.perf_counter()
            with multiprocessing.Pool(CLIENTS) as pool:
                runs = pool.map(
                    _client,
                    [(target, account.api_key, REQUESTS_PER_CLIENT, CONCURRENCY_PER_CLIENT)]
                    * CLIENTS,
                )
            elapsed = time.perf_counter() - started
            latencies = [lat for run in runs for lat in run]
            result = {
                "benchmark": "gateway_static_generate",
                "requests": len(latencies),
                "concurrency": CLIENTS * CONCURRENCY_PER_CLIENT,
                "requests_per_s": round(len(latencies) / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
                "bar": {"requests_per_s": 1000, "p99_ms": 50},
                "note": "load generator shares the 2 cores with all services",
            }
        finally:
            stack.stop_all()
    asyncio.run(drop_database(name))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
