"""Analytics bench: ``python -m bench.analytics_bench`` prints one JSON object.

1. ingest: N events published straight to the ``scans`` exchange (10 per message, persistent,
   confirmed, pipelined), timed until all are queryable: the service's inserted-events counter
   is polled, then a stats query over gRPC must count all N. ``ingest_backlog`` is the bar
   (DESIGN.md: broker -> ClickHouse >= 50,000 events/s): the events are queued first, then
   timed from the restarted service's readiness. ``ingest_live`` publishes while the service
   consumes (publisher, broker and consumer share the two cores), so it is bounded by this one
   bench publisher too; its rate is reported beside it.
2. scan-to-stats latency at a steady 1,000 events/s (a 10-event message every 10 ms): for
   each message, the time from its publish until a stats query counts it; bar p99 <= 2 s.
3. stats queries over 10 M stored scans, generated with INSERT ... SELECT FROM numbers()
   directly in ClickHouse (the service is stopped meanwhile: an embedded chdb directory has one
   owner at a time), then GetCodeStats / GetTimeSeries / GetBreakdown on random codes over
   gRPC; bar p95 <= 50 ms. An account-wide overview over 100k scans is reported beside it.

The service runs as a subprocess on a fresh chdb directory and a scratch RabbitMQ vhost.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import grpc

from qrforge.v1 import analytics_pb2, analytics_pb2_grpc
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.grpc_client import open_channel
from services.runtime.topics import SCAN_RECORDED, SCANS_EXCHANGE
from tests.support.backing import scratch_name, scratch_vhost
from tests.support.processes import ROOT, ServiceProcess, free_port

INGEST_EVENTS = int(os.environ.get("BENCH_INGEST_EVENTS", "300000"))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "10"))
LATENCY_RATE = 1000
STORED_SCANS = int(os.environ.get("BENCH_STORED_SCANS", "10000000"))
QUERY_COUNT = int(os.environ.get("BENCH_QUERIES", "300"))
# Which parts run (a comma-separated subset of ingest,latency,queries): all by default.
PARTS = set(os.environ.get("BENCH_ANALYTICS_PARTS", "ingest,latency,queries").split(","))
ACCOUNTS = 100
CODES = 10_000  # 100 per account, 1,000 scans each at 10 M

AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
    "Mobile/15E148 Safari/604.1",
)
IP_PREFIXES = ("8.8", "81.2", "5.45", "1.1", "2.16", "31.13")

FILL_SQL = """
INSERT INTO scans (event_id, account_id, qr_id, ts, country, city, device, os, browser, is_bot,
                   referrer, language, visitor_hash)
SELECT
    lower(hex(sipHash128(number, 'bench'))),
    concat('bench_acc_', toString(number % {accounts})),
    concat('bench_qr_', toString(number % {codes})),
    now64(3, 'UTC') - toIntervalMillisecond((number * 7919) % (90 * 86400000)),
    ['US', 'FR', 'DE', 'GB', 'JP', ''][number % 6 + 1],
    ['', 'Paris', 'Berlin', 'London'][number % 4 + 1],
    ['mobile', 'mobile', 'desktop', 'tablet', 'other'][number % 5 + 1],
    ['ios', 'android', 'windows', 'macos', 'linux', 'other'][number % 6 + 1],
    ['Safari', 'Chrome', 'Firefox', 'Edge'][number % 4 + 1],
    number % 20 = 0,
    ['', 'google.com', 't.co', 'facebook.com'][number % 4 + 1],
    ['en', 'fr', 'de'][number % 3 + 1],
    cityHash64(number % 300000)
FROM numbers({rows})
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def event_json(account: str, n: int, ts: datetime) -> dict[str, str]:
    return {
        "event_id": uuid.uuid4().hex,
        "qr_id": f"qr_{n % 50}",
        "account_id": account,
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
        "ip": f"{IP_PREFIXES[n % len(IP_PREFIXES)]}.{n // 256 % 256}.{n % 256}",
        "user_agent": AGENTS[n % len(AGENTS)],
        "referer": "https://www.google.com/" if n % 3 == 0 else "",
        "accept_language": "en-US,en;q=0.9",
    }


def bodies(account: str, count: int, per_message: int = 10) -> list[bytes]:
    now = datetime.now(UTC)
    out = []
    for start in range(0, count, per_message):
        events = [
            event_json(account, n, now - timedelta(seconds=n % 3600))
            for n in range(start, start + per_message)
        ]
        out.append(json.dumps({"v": 1, "events": events}, separators=(",", ":")).encode())
    return out


class Harness:
    def __init__(self, amqp_url: str, data_dir: Path) -> None:
        self.amqp_url = amqp_url
        self.data_dir = data_dir
        self.port = free_port()
        self.admin_port = free_port()
        self.process: ServiceProcess | None = None
        self.inserted_before = 0.0
        self.grpc_auth_token = secrets.token_urlsafe(32)

    def start(self) -> None:
        env = {
            "ANALYTICS_PORT": str(self.port),
            "ANALYTICS_ADMIN_PORT": str(self.admin_port),
            "AMQP_URL": self.amqp_url,
            "CLICKHOUSE_URL": f"chdb://{self.data_dir}",
            "VISITOR_SALT": "bench-salt",
            GRPC_AUTH_TOKEN_ENV: self.grpc_auth_token,
            "SCAN_RETENTION_DAYS": "0",
            "LOG_LEVEL": "WARNING",
            # Settings under test can be passed through (ANALYTICS_BATCH_MAX_EVENTS=…).
            **{k: v for k, v in os.environ.items() if k.startswith("ANALYTICS_")},
        }
        self.process = ServiceProcess("analytics-bench", "services.analytics", env, self.admin_port)
        self.process.start()
        self.process.wait_ready(60)
        self.inserted_before = inserted_events(self.admin_port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def channel(self) -> grpc.aio.Channel:
        return open_channel(f"127.0.0.1:{self.port}", auth_token=self.grpc_auth_token)


async def publish_all(
    exchange: aio_pika.abc.AbstractExchange, payloads: list[bytes], window: int = 256
) -> float:
    """Publishes (confirmed, ``window`` in flight); returns the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(payloads), window):
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=SCAN_RECORDED,
                )
                for body in payloads[start : start + window]
            )
        )
    return time.perf_counter() - started


async def total(stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub, account: str) -> int:
    """Scans of ``account`` (a one-dimension breakdown: the cheapest full count to poll)."""
    request = analytics_pb2.BreakdownQuery(
        query=analytics_pb2.StatsQuery(account_id=account, include_bots=True),
        dimension="device",
        limit=10,
    )
    response = await stub.GetBreakdown(request, timeout=10)
    return sum(int(row.scans) for row in response.rows)


async def wait_for_total(
    stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub, account: str, expected: int
) -> None:
    while True:
        if await total(stub, account) >= expected:
            return
        await asyncio.sleep(0.1)


def inserted_events(admin_port: int) -> float:
    """The service's own count of inserted events (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith('qrforge_analytics_events_total{outcome="inserted"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def wait_until_ingested(
    harness: Harness, stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub, account: str, n: int
) -> None:
    """Until ``n`` more events are inserted (the service's counter, read every 50 ms), then
    until a stats query counts them all. Polling with stats queries alone would time the
    query path too: a full count every 100 ms competes with the inserts for the same cores."""
    target = harness.inserted_before + n
    while await asyncio.to_thread(inserted_events, harness.admin_port) < target:  # noqa: ASYNC110 (another process's counter)
        await asyncio.sleep(0.05)
    await wait_for_total(stub, account, n)


def ingest_result(elapsed: float, publish_s: float, mode: str, *, with_bar: bool) -> dict[str, Any]:
    rate = INGEST_EVENTS / elapsed
    bar = {"bar_events_per_s": 50_000, "meets_bar": rate >= 50_000} if with_bar else {}
    return {
        "events": INGEST_EVENTS,
        "events_per_message": 10,
        "seconds": round(elapsed, 2),
        "events_per_s": round(rate),
        **bar,
        "mode": mode,
        "publish_events_per_s": round(INGEST_EVENTS / publish_s),
    }


async def bench_ingest_live(
    harness: Harness,
    exchange: aio_pika.abc.AbstractExchange,
    stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
) -> dict[str, Any]:
    """Publisher, broker and consumer all running at once on this machine's cores: bounded by
    this one bench publisher (reported beside it), not only by the consumer."""
    account = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    payloads = bodies(account, INGEST_EVENTS)
    harness.inserted_before = await asyncio.to_thread(inserted_events, harness.admin_port)
    started = time.perf_counter()
    publishing = asyncio.create_task(publish_all(exchange, payloads))
    await wait_until_ingested(harness, stub, account, INGEST_EVENTS)
    elapsed = time.perf_counter() - started
    publish_s = await publishing
    return ingest_result(
        elapsed, publish_s, "publish while consuming, from first publish", with_bar=False
    )


async def bench_ingest_backlog(
    harness: Harness, exchange: aio_pika.abc.AbstractExchange
) -> dict[str, Any]:
    """Broker -> ClickHouse alone: the events wait in the queue while the service is down, then
    are timed from the restarted service's readiness until all are queryable."""
    account = f"bench_backlog_{uuid.uuid4().hex[:8]}"
    payloads = bodies(account, INGEST_EVENTS)
    harness.stop()
    publish_s = await publish_all(exchange, payloads)
    await asyncio.to_thread(harness.start)
    started = time.perf_counter()
    async with harness.channel() as channel:
        await wait_until_ingested(
            harness, analytics_pb2_grpc.AnalyticsServiceStub(channel), account, INGEST_EVENTS
        )
    elapsed = time.perf_counter() - started
    return ingest_result(
        elapsed, publish_s, "queued backlog drained, from readiness", with_bar=True
    )


async def bench_latency(
    exchange: aio_pika.abc.AbstractExchange, stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub
) -> dict[str, Any]:
    account = f"bench_latency_{uuid.uuid4().hex[:8]}"
    messages = int(LATENCY_SECONDS * LATENCY_RATE / 10)
    sent_at: list[float] = []
    seen_at: list[float | None] = [None] * messages

    async def produce() -> None:
        begin = time.perf_counter()
        for i in range(messages):
            delay = begin + i * 0.01 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = bodies(account, 10)[0]
            sent_at.append(time.perf_counter())
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=SCAN_RECORDED,
            )

    producing = asyncio.create_task(produce())
    visible = 0
    deadline = time.perf_counter() + LATENCY_SECONDS + 30
    while visible < messages and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
        count = await total(stub, account)
        now = time.perf_counter()
        while visible < messages and count >= (visible + 1) * 10 and visible < len(sent_at):
            seen_at[visible] = now
            visible += 1
    await producing
    latencies = [
        seen - sent for seen, sent in zip(seen_at, sent_at, strict=False) if seen is not None
    ]
    p99 = percentile(latencies, 99)
    return {
        "rate_events_per_s": LATENCY_RATE,
        "duration_s": LATENCY_SECONDS,
        "messages": messages,
        "visible": len(latencies),
        "p50_ms": ms(statistics.median(latencies)),
        "p99_ms": ms(p99),
        "max_ms": ms(max(latencies)),
        "bar_p99_ms": 2000,
        "meets_bar": len(latencies) == messages and p99 <= 2.0,
    }


def fill(url: str, rows: int) -> None:
    """Run in a child process (the chdb directory's only owner while the service is down)."""
    import clickhouse_connect  # noqa: PLC0415

    from services.analytics.storage import migration_statements  # noqa: PLC0415

    client = clickhouse_connect.get_client(dsn=url)
    for statement in migration_statements():
        client.command(statement)
    client.command(FILL_SQL.format(accounts=ACCOUNTS, codes=CODES, rows=rows))
    # The steady state of a table filled over weeks: background merges have caught up.
    client.command("OPTIMIZE TABLE scans FINAL")
    client.close()


async def bench_queries(stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub) -> dict[str, Any]:
    rng = random.Random(7)
    today = datetime.now(UTC).date()
    month_ago = (today - timedelta(days=29)).isoformat()

    def query(code: int) -> analytics_pb2.StatsQuery:
        return analytics_pb2.StatsQuery(
            account_id=f"bench_acc_{code % ACCOUNTS}", qr_id=f"bench_qr_{code}"
        )

    rpcs: dict[str, Callable[[int], Awaitable[Any]]] = {
        "GetCodeStats": lambda code: stub.GetCodeStats(query(code), timeout=10),
        "GetTimeSeries_day_30": lambda code: stub.GetTimeSeries(
            analytics_pb2.TimeSeriesQuery(
                query=analytics_pb2.StatsQuery(
                    account_id=f"bench_acc_{code % ACCOUNTS}",
                    qr_id=f"bench_qr_{code}",
                    from_date=month_ago,
                    to_date=today.isoformat(),
                    tz="Europe/Paris",
                ),
                granularity="day",
            ),
            timeout=10,
        ),
        "GetBreakdown_country": lambda code: stub.GetBreakdown(
            analytics_pb2.BreakdownQuery(query=query(code), dimension="country", limit=10),
            timeout=10,
        ),
    }
    # Warm-up: first touches of the parts' marks and the gRPC channel.
    for call in rpcs.values():
        await call(0)
    samples: dict[str, list[float]] = {name: [] for name in rpcs}
    names = list(rpcs)
    for i in range(QUERY_COUNT):
        name = names[i % len(names)]
        code = rng.randrange(CODES)
        started = time.perf_counter()
        await rpcs[name](code)
        samples[name].append(time.perf_counter() - started)
    every = [value for values in samples.values() for value in values]
    overview = []
    for n in range(10):
        started = time.perf_counter()
        await stub.GetAccountOverview(
            analytics_pb2.OverviewQuery(
                query=analytics_pb2.StatsQuery(account_id=f"bench_acc_{n}"), top=10
            ),
            timeout=30,
        )
        overview.append(time.perf_counter() - started)
    check = await stub.GetCodeStats(query(1), timeout=10)
    p95 = percentile(every, 95)
    return {
        "stored_scans": STORED_SCANS,
        "table_state": "merged (OPTIMIZE FINAL after the INSERT ... SELECT)",
        "scans_per_code": STORED_SCANS // CODES,
        "queries": len(every),
        "p50_ms": ms(statistics.median(every)),
        "p95_ms": ms(p95),
        "by_rpc_p95_ms": {name: ms(percentile(values, 95)) for name, values in samples.items()},
        "bar_p95_ms": 50,
        "meets_bar": p95 <= 0.05,
        "sample_code_total_scans_with_bots_excluded": int(check.total_scans),
        "account_overview_p50_ms": ms(statistics.median(overview)),
        "account_overview_scans_per_account": STORED_SCANS // ACCOUNTS,
    }


async def run(amqp_url: str, data_dir: Path) -> dict[str, Any]:
    harness = Harness(amqp_url, data_dir)
    result: dict[str, Any] = {"cpus": os.cpu_count()}
    harness.start()
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            SCANS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        async with harness.channel() as grpc_channel:
            stub = analytics_pb2_grpc.AnalyticsServiceStub(grpc_channel)
            if "ingest" in PARTS:
                result["ingest_live"] = await bench_ingest_live(harness, exchange, stub)
            if "latency" in PARTS:
                result["scan_to_stats_latency"] = await bench_latency(exchange, stub)
        if "ingest" in PARTS:
            result["ingest_backlog"] = await bench_ingest_backlog(harness, exchange)
        harness.stop()
        if "queries" not in PARTS:
            return result
        started = time.perf_counter()
        await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "bench.analytics_bench",
                "--fill",
                f"chdb://{data_dir}",
                str(STORED_SCANS),
            ],
            cwd=ROOT,
            check=True,
        )
        fill_s = time.perf_counter() - started
        harness.start()
        async with harness.channel() as grpc_channel:
            stub = analytics_pb2_grpc.AnalyticsServiceStub(grpc_channel)
            result["stats_queries"] = await bench_queries(stub) | {"generate_s": round(fill_s, 1)}
    finally:
        await connection.close()
        harness.stop()
    return result


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--fill":
        fill(sys.argv[2], int(sys.argv[3]))
        return
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    try:
        with scratch_vhost(scratch_name("qrforge_analytics_bench")) as amqp_url:
            result = asyncio.run(run(amqp_url, data_dir / "clickhouse"))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result["runtime_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
