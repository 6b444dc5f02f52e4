"""Webhooks bench: ``python -m bench.webhooks_bench`` prints one JSON object.

The webhooks service runs as a subprocess on a scratch database and RabbitMQ vhost; the bench
publishes enriched scans on ``scans.enriched`` itself (what analytics publishes once a scan is
stored) and a local aiohttp receiver on 127.0.0.1 (allow-listed) answers 200.

1. throughput: N scans queued for one endpoint (one account), the service started, timed from
   the first accepted delivery to the last; bar (DESIGN.md v1.1) >= 2,000 deliveries/s. The
   baseline, in the same run, is this bench's own aiohttp client POSTing the same bodies to the
   same receiver with the same concurrency and nothing else (no broker, no Postgres, no
   signing): ``ratio`` = service / bare client.
2. latency: 500 scans/s for ``BENCH_WEBHOOK_SECONDS`` (5 scans a message every 10 ms), each
   timed from its publish to its arrival at the receiver; bar p99 <= 1 s.

Receiver, publisher and service share the machine's cores, as in the other benches.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
from aiohttp import web

from qrforge.v1 import webhooks_pb2, webhooks_pb2_grpc
from services.runtime.enriched_scans import (
    ENRICHED_SCANS_EXCHANGE,
    SCAN_ENRICHED,
    EnrichedScan,
    encode_batch,
)
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.grpc_client import open_channel
from services.runtime.migrations import apply_migrations, discover
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.processes import ServiceProcess, free_port

EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "20000"))
LATENCY_SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "10"))
LATENCY_RATE = 500
PER_MESSAGE = 100
CONCURRENCY = 16  # the service's default per-endpoint concurrency
ACCOUNT = "acc_bench"


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # event qr_id tag -> arrival (perf_counter)
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        tag = request.headers.get("x-bench-tag")
        if tag is None:
            data = json.loads(body)["data"]
            self.arrivals[data["qr_id"]] = now
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"

    def reset(self) -> None:
        self.arrivals.clear()
        self.count = 0

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def arrived(receiver: Receiver, count: int, timeout_s: float) -> None:
    """Until the receiver has ``count`` events, or ``timeout_s`` passed (reported short)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if len(receiver.arrivals) >= count or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)


def scans(count: int, tag: str) -> list[EnrichedScan]:
    now = datetime.now(UTC)
    return [
        EnrichedScan(
            event_id=uuid.uuid4().hex,
            account_id=ACCOUNT,
            qr_id=f"qr_{tag}{n}",
            scanned_at=now,
            country="FR",
            device="mobile",
            os="ios",
            browser="Safari",
        )
        for n in range(count)
    ]


async def publish(exchange: aio_pika.abc.AbstractExchange, batch: list[EnrichedScan]) -> None:
    message = aio_pika.Message(encode_batch(batch), delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await exchange.publish(message, routing_key=SCAN_ENRICHED)


async def bare_baseline(url: str, count: int) -> float:
    """Deliveries/s of a plain aiohttp client with the same concurrency and the same bodies."""
    body = json.dumps({"type": "scan.created", "timestamp": "x", "data": {"qr_id": "q"}}).encode()
    headers = {"Content-Type": "application/json", "x-bench-tag": "bare"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started)


async def run() -> dict[str, Any]:
    name = scratch_name("qrforge_bench_webhooks")
    dsn = await create_database(name)
    receiver = Receiver()
    await receiver.start()
    token = secrets.token_urlsafe(32)
    process: ServiceProcess | None = None
    try:
        await apply_migrations(dsn, [m for m in discover() if m.service == "webhooks"])
        with scratch_vhost(name) as amqp_url:
            port, admin = free_port(), free_port()
            env = {
                "DATABASE_URL": dsn,
                "AMQP_URL": amqp_url,
                "WEBHOOKS_PORT": str(port),
                "WEBHOOKS_ADMIN_PORT": str(admin),
                "WEBHOOK_ALLOWLIST": "127.0.0.1",
                "WEBHOOK_PREFETCH": "32",
                GRPC_AUTH_TOKEN_ENV: token,
                "LOG_LEVEL": "WARNING",
                **{k: v for k, v in os.environ.items() if k.startswith("WEBHOOK_")},
            }
            process = ServiceProcess("webhooks-bench", "services.webhooks", env, admin)
            process.start()
            process.wait_ready(60)
            channel = open_channel(f"127.0.0.1:{port}", auth_token=token)
            stub = webhooks_pb2_grpc.WebhooksServiceStub(channel)
            await stub.CreateWebhook(
                webhooks_pb2.CreateWebhookRequest(
                    account_id=ACCOUNT, url=receiver.url, events=["scan.created"]
                ),
                timeout=10,
            )
            await channel.close()

            connection = await aio_pika.connect_robust(amqp_url)
            publishing = await connection.channel(publisher_confirms=True)
            exchange = await publishing.declare_exchange(
                ENRICHED_SCANS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )

            # 1. throughput from a backlog: stop the service, queue, start, time.
            process.stop()
            all_scans = scans(EVENTS, "t")
            for start in range(0, EVENTS, PER_MESSAGE * 50):
                await asyncio.gather(
                    *(
                        publish(exchange, all_scans[s : s + PER_MESSAGE])
                        for s in range(start, min(start + PER_MESSAGE * 50, EVENTS), PER_MESSAGE)
                    )
                )
            receiver.reset()
            process.start()
            process.wait_ready(60)
            assert process.process is not None
            cpu_before = cpu_s(process.process.pid)
            await arrived(receiver, EVENTS, 300)
            delivered = len(receiver.arrivals)
            rate = delivered / max(receiver.last - receiver.first, 1e-6)
            # The machine is shared: CPU per delivery says what wall-clock rates cannot.
            cpu_per_delivery = (cpu_s(process.process.pid) - cpu_before) / max(delivered, 1)

            receiver.reset()
            bare = await bare_baseline(receiver.url, min(EVENTS, 10_000))
            receiver.reset()

            # 2. scan -> delivered at a steady 500 scans/s.
            sent: dict[str, float] = {}
            per_tick = LATENCY_RATE // 100
            started = time.perf_counter()
            ticks = int(LATENCY_SECONDS * 100)
            for tick in range(ticks):
                batch = scans(per_tick, f"l{tick}_")
                now = time.perf_counter()
                for scan in batch:
                    sent[scan.qr_id] = now
                await publish(exchange, batch)
                await asyncio.sleep(max(0.0, started + (tick + 1) / 100 - time.perf_counter()))
            await arrived(receiver, len(sent), 120)
            latencies = [
                receiver.arrivals[k] - t for k, t in sent.items() if k in receiver.arrivals
            ]
            await connection.close()
            stopping = time.perf_counter()
            exit_code = process.stop()  # while its broker vhost still exists
            stop_s = time.perf_counter() - stopping
            process = None
            return {
                "bench": "webhooks",
                "deliveries": delivered,
                "deliveries_per_s": round(rate),
                "bar_deliveries_per_s": 2000,
                "bare_client_per_s": round(bare),
                "ratio": round(rate / bare, 3),
                "service_cpu_ms_per_delivery": round(cpu_per_delivery * 1000, 3),
                "latency_rate_per_s": LATENCY_RATE,
                "latency_delivered": len(latencies),
                "latency_sent": len(sent),
                "scan_to_delivered_p50_ms": round(statistics.median(latencies) * 1000, 1),
                "scan_to_delivered_p99_ms": round(percentile(latencies, 99) * 1000, 1),
                "bar_p99_ms": 1000,
                "stop_s": round(stop_s, 2),
                "exit_code": exit_code,
            }
    finally:
        if process is not None:
            process.stop()
        await receiver.stop()
        await drop_database(name)


def main() -> None:
    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
