"""Noisy neighbour: one account's plain generates while another account runs heavy batches.

Starts its own system (throw-away DB + vhost, render with its default worker count, keys,
gateway as processes) and two accounts. Account B sends plain ``POST /v1/qrcodes/generate``
calls one after another on one keep-alive connection; its p99 is measured with nothing else
running (idle) and while account A keeps two batches of heavy codes (PDF, 4096 px, level H, a
long text: ~0.2 s of a core each to draw and verify) in flight at all times (loaded). Idle and
loaded phases alternate, so both see the same load from other work on the machine. Prints one
JSON object. Bar: B's p99 under A's load <= 3x B's idle p99, both from this run.

Render workers are set with the environment as for the service (``RENDER_WORKERS``,
``RENDER_WORKERS_PER_ACCOUNT``): e.g. ``RENDER_WORKERS_PER_ACCOUNT=2`` shows what B would see if
A could take both workers of this 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp

from tests.support.api_client import ApiClient
from tests.support.stack import gateway_stack, unlimited_account

ROUNDS = 4  # of one idle and one loaded phase
B_CALLS_PER_PHASE = 100
HEAVY_BATCHES_IN_FLIGHT = 2
HEAVY_ITEMS_PER_BATCH = 10
RAMP_S = 1.5  # for A's batches to fill their share of the render workers
HEAVY_TEXT = "the quick brown fox jumps over the lazy dog " * 7
BAR_RATIO = 3.0


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _plain_generates(api: ApiClient, phase: str) -> list[float]:
    """B's calls, one after another; the seconds each took."""
    timings: list[float] = []
    for i in range(B_CALLS_PER_PHASE):
        body = {"type": "url", "content": f"https://example.com/{phase}/{i}"}
        started = time.perf_counter()
        resp = await api.generate(body)
        timings.append(time.perf_counter() - started)
        if resp.status != 200:
            raise RuntimeError(f"B's generate failed: {resp.status}")
    return timings


class HeavyLoad:
    """A's batches of heavy codes, ``HEAVY_BATCHES_IN_FLIGHT`` at all times until stopped."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self._stopping = False
        self.items_succeeded = 0
        self.items_failed: dict[str, int] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._batches = 0

    def start(self) -> None:
        self._stopping = False
        self._loops = [asyncio.create_task(self._loop()) for _ in range(HEAVY_BATCHES_IN_FLIGHT)]

    async def stop(self) -> None:
        """Start no more batches and wait for those in flight."""
        self._stopping = True
        await asyncio.gather(*self._loops)

    async def _loop(self) -> None:
        while not self._stopping:
            self._batches += 1
            items = [
                {
                    "type": "text",
                    "content": f"{self._batches}.{i} {HEAVY_TEXT}",
                    "format": "pdf",
                    "size": 4096,
                    "error_correction": "H",
                }
                for i in range(HEAVY_ITEMS_PER_BATCH)
            ]
            resp = await self._api.batch(items)
            if resp.status != 200:
                raise RuntimeError(f"A's batch failed: {resp.status} {resp.body[:300]!r}")
            for result in resp.envelope["data"]["results"]:
                if result["success"]:
                    self.items_succeeded += 1
                else:
                    code = result["error"]["code"]
                    self.items_failed[code] = self.items_failed.get(code, 0) + 1


async def _measure(url: str, heavy_key: str, neighbour_key: str) -> dict[str, Any]:
    # B: one keep-alive connection, a simple client.
    neighbour_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    heavy_session = aiohttp.ClientSession()
    async with neighbour_session, heavy_session:
        neighbour = ApiClient(neighbour_session, url, neighbour_key)
        await _plain_generates(neighbour, "warm-up")
        load = HeavyLoad(ApiClient(heavy_session, url, heavy_key))
        idle: list[float] = []
        loaded: list[float] = []
        for round_number in range(ROUNDS):
            idle += await _plain_generates(neighbour, f"idle-{round_number}")
            load.start()
            await asyncio.sleep(RAMP_S)  # the load ramps up: part of what is measured
            loaded += await _plain_generates(neighbour, f"loaded-{round_number}")
            await load.stop()
    idle_p99, loaded_p99 = _p99(idle) * 1000, _p99(loaded) * 1000
    return {
        "benchmark": "noisy_neighbour",
        "b_calls_idle": len(idle),
        "b_calls_loaded": len(loaded),
        "b_idle_p99_ms": round(idle_p99, 1),
        "b_loaded_p99_ms": round(loaded_p99, 1),
        "b_idle_median_ms": round(sorted(idle)[len(idle) // 2] * 1000, 1),
        "b_loaded_median_ms": round(sorted(loaded)[len(loaded) // 2] * 1000, 1),
        "ratio_loaded_over_idle_p99": round(loaded_p99 / idle_p99, 2),
        "bar": {"ratio_max": BAR_RATIO},
        "meets_bar": loaded_p99 <= BAR_RATIO * idle_p99,
        "a_heavy_items_succeeded": load.items_succeeded,
        "a_heavy_items_failed": load.items_failed,
        "render_workers": os.environ.get("RENDER_WORKERS", str(os.cpu_count())),
        "render_workers_per_account": os.environ.get("RENDER_WORKERS_PER_ACCOUNT", "default"),
        "note": "client, gateway, render, keys and Postgres share the machine's cores",
    }


def main() -> None:
    result: dict[str, Any] = {}
    with gateway_stack("qrforge_bench_neighbour") as stack:
        heavy = unlimited_account(stack, "heavy batches")
        neighbour = unlimited_account(stack, "neighbour")
        result = asyncio.run(_measure(stack.gateway_url, heavy.api_key, neighbour.api_key))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
