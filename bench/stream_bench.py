"""Live scan stream fan-out: ``python -m bench.stream_bench`` prints one JSON object.

Starts its own system (throw-away DB + vhost; render, keys and a gateway as processes) and one
account. SSE clients of that account hold ``GET /v1/stream/scans`` open while enriched scans
are published straight to the ``scans.enriched`` exchange (as analytics does once a scan is
stored) at a steady rate, in messages of ``SCANS_PER_MESSAGE`` (analytics publishes small
batches). Each scan's event id carries its publish time, so every client measures publish ->
received for every event it reads.

Two phases in one run: a baseline with one client, then ``CLIENTS`` clients; the bar
(issue 17) is p99 publish -> received <= 1 s with 500 clients at 200 scans/s, and the ratio of
the two p99s says what the fan-out itself costs. Every client must receive every scan (the
gateway's dropped-events counter is reported too). The clients are raw asyncio protocols that
only look for ``id:`` lines, so the bench client (which shares the machine's cores with the
gateway, RabbitMQ and the publisher) costs as little as it can; they run in
``CLIENT_PROCESSES`` processes, as a load generator runs threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import resource
import sys
import time
import urllib.request
from array import array
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final, cast

import aio_pika
import uvloop
from aio_pika.abc import AbstractExchange

from services.runtime.amqp import declare_topic_exchange
from services.runtime.enriched_scans import (
    ENRICHED_SCANS_EXCHANGE,
    SCAN_ENRICHED,
    EnrichedScan,
    encode_batch,
)
from tests.support.stack import Stack, gateway_stack, unlimited_account

CLIENTS: Final = 500
SCANS_PER_S: Final = 200
SCANS_PER_MESSAGE: Final = 10
DURATION_S: Final = 15.0
BASELINE_DURATION_S: Final = 5.0
DRAIN_S: Final = 3.0
OPEN_CONCURRENCY: Final = 50
CLIENT_PROCESSES: Final = 2
BAR_P99_S: Final = 1.0
_ID_LINE: Final = re.compile(rb"^id: b\d+t(\d+)\r?$", re.MULTILINE)


class Tally:
    """Every client's latencies, and an event set once ``expected`` have come in."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.expected = sys.maxsize
        self.complete = asyncio.Event()

    def add(self, latency_ns: int) -> None:
        self.latencies.append(latency_ns)
        if len(self.latencies) >= self.expected:
            self.complete.set()


class SseClient(asyncio.Protocol):
    """One stream: sends the request, then records, for each ``id:`` line, now minus the
    publish time it carries (nanoseconds of ``time.monotonic_ns``)."""

    def __init__(self, request: bytes, tally: Tally) -> None:
        self._request = request
        self._tally = tally
        self._buffer = b""
        self._headers_done = False
        self.opened = asyncio.get_running_loop().create_future()
        self.received = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, though they are one.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self._buffer + data
        if not self._headers_done:
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                self._buffer = buffer
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self.opened.set_exception(RuntimeError(head.split(b"\r\n")[0].decode()))
                return
            self._headers_done = True
            self.opened.set_result(None)
            buffer = rest
        cut = buffer.rfind(b"\n")
        if cut < 0:
            self._buffer = buffer
            return
        complete, self._buffer = buffer[:cut], buffer[cut + 1 :]
        for match in _ID_LINE.finditer(complete):
            self._tally.add(now - int(match.group(1)))
            self.received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the stream opened"))


async def _open_clients(
    host: str, port: int, api_key: str, count: int, tally: Tally
) -> list[SseClient]:
    request = (
        f"GET /v1/stream/scans HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {api_key}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> SseClient:
        async with gate:
            _, client = await loop.create_connection(lambda: SseClient(request, tally), host, port)
            await asyncio.wait_for(client.opened, 30)
            return client

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _publish_steadily(
    exchange: AbstractExchange, account_id: str, duration_s: float, first_seq: int
) -> int:
    """``SCANS_PER_S`` scans for ``duration_s``, a message every ``SCANS_PER_MESSAGE /
    SCANS_PER_S`` seconds on an absolute schedule (no drift); returns how many were sent."""
    interval = SCANS_PER_MESSAGE / SCANS_PER_S
    messages = int(duration_s / interval)
    loop = asyncio.get_running_loop()
    start = loop.time()
    seq = first_seq
    for n in range(messages):
        delay = start + n * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sent_at = time.monotonic_ns()
        scans = []
        for _ in range(SCANS_PER_MESSAGE):
            seq += 1
            scans.append(
                EnrichedScan(
                    event_id=f"b{seq}t{sent_at}",
                    account_id=account_id,
                    qr_id="qr_bench",
                    scanned_at=datetime.now(UTC),
                    country="FR",
                    device="mobile",
                    os="ios",
                    browser="safari",
                )
            )
        await exchange.publish(
            aio_pika.Message(encode_batch(scans), content_type="application/json"),
            routing_key=SCAN_ENRICHED,
        )
    return messages * SCANS_PER_MESSAGE


def _percentile(ordered: list[int], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1e9


def _client_worker(host: str, port: int, api_key: str, count: int, link: Connection) -> None:
    """A client process: ``count`` streams; says "ready" once all are open, is told how many
    scans were published, then sends back every latency (ns, as int64 bytes) and how many of
    its streams missed some."""
    uvloop.run(_client_main(host, port, api_key, count, link))


async def _client_main(host: str, port: int, api_key: str, count: int, link: Connection) -> None:
    tally = Tally()
    streams = await _open_clients(host, port, api_key, count, tally)
    link.send("ready")
    loop = asyncio.get_running_loop()
    published: int = await loop.run_in_executor(None, link.recv)
    tally.expected = published * count
    if len(tally.latencies) < tally.expected:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.complete.wait(), DRAIN_S)
    for stream in streams:
        if stream.transport is not None:
            stream.transport.close()
    missing = sum(1 for stream in streams if stream.received < published)
    link.send((array("q", tally.latencies).tobytes(), missing))


async def _phase(
    exchange: AbstractExchange,
    host: str,
    port: int,
    api_key: str,
    account_id: str,
    clients: int,
    duration_s: float,
    first_seq: int,
) -> dict[str, Any]:
    """One run: ``clients`` streams spread over up to ``CLIENT_PROCESSES`` processes (one Python
    process reading 100,000 events/s would measure itself, not the gateway)."""
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    processes = min(CLIENT_PROCESSES, clients)
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    workers: list[tuple[BaseProcess, Connection]] = []
    for share in shares:
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_client_worker, args=(host, port, api_key, share, theirs), daemon=True
        )
        process.start()
        workers.append((process, ours))
    try:
        opened_at = time.monotonic()
        for _, link in workers:
            if not await loop.run_in_executor(None, link.poll, 60):
                raise RuntimeError("a client process did not open its streams in 60 s")
            assert await loop.run_in_executor(None, link.recv) == "ready"
        open_s = time.monotonic() - opened_at
        published = await _publish_steadily(exchange, account_id, duration_s, first_seq)
        for _, link in workers:
            link.send(published)
        latencies: list[int] = []
        missing = 0
        for _, link in workers:
            raw, worker_missing = await loop.run_in_executor(None, link.recv)
            latencies.extend(array("q", raw))
            missing += worker_missing
    finally:
        for worker, _ in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    expected = published * clients
    ordered = sorted(latencies)
    if not ordered:
        raise RuntimeError("no event reached any client")
    return {
        "clients": clients,
        "client_processes": processes,
        "open_all_s": round(open_s, 2),
        "scans_published": published,
        "events_expected": expected,
        "events_received": len(latencies),
        "clients_missing_events": missing,
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] / 1e6, 1),
        "events_per_s_delivered": round(len(latencies) / duration_s),
    }


def _gateway_metrics(admin_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    wanted = {
        'qrforge_gateway_scan_stream_events_total{outcome="sent"}': "events_sent",
        'qrforge_gateway_scan_stream_events_total{outcome="dropped"}': "events_dropped",
        'qrforge_gateway_scan_streams_closed_total{reason="slow_client"}': "slow_clients_cut",
    }
    values = dict.fromkeys(wanted.values(), 0.0)
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            values[wanted[name]] = float(value)
    return values


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _own_cpu_s() -> float:
    """This process's CPU and its finished children's (the client processes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


async def _measure(stack: Stack) -> dict[str, Any]:
    account = unlimited_account(stack, "stream bench")
    gateway = next(p for p in stack.processes if p.name == "gateway")
    assert gateway.process is not None
    host, _, port = stack.gateway_url.removeprefix("http://").partition(":")
    connection = await aio_pika.connect_robust(stack.amqp_url)
    async with connection:
        exchange = await declare_topic_exchange(await connection.channel(), ENRICHED_SCANS_EXCHANGE)
        rss_before = _rss_mib(gateway.process.pid)
        gateway_cpu, bench_cpu = _cpu_s(gateway.process.pid), _own_cpu_s()
        baseline = await _phase(
            exchange, host, int(port), account.api_key, account.account_id, 1,
            BASELINE_DURATION_S, 0,
        )  # fmt: skip
        fanned = await _phase(
            exchange, host, int(port), account.api_key, account.account_id, CLIENTS,
            DURATION_S, 1_000_000,
        )  # fmt: skip
        rss_after = _rss_mib(gateway.process.pid)
        gateway_cpu = _cpu_s(gateway.process.pid) - gateway_cpu
        bench_cpu = _own_cpu_s() - bench_cpu
    metrics = _gateway_metrics(gateway.admin_port)
    p99_s = fanned["p99_ms"] / 1000
    return {
        "benchmark": "stream_fanout",
        "scans_per_s": SCANS_PER_S,
        "scans_per_message": SCANS_PER_MESSAGE,
        "baseline_1_client": baseline,
        "fanout": fanned,
        "ratio_p99_fanout_over_baseline": round(fanned["p99_ms"] / max(baseline["p99_ms"], 0.1), 2),
        "gateway": {**metrics, "rss_mib_before": rss_before, "rss_mib_after": rss_after},
        "cpu_s_both_phases": {
            "gateway": round(gateway_cpu, 1),
            "bench_client": round(bench_cpu, 1),
        },
        "bar": {"p99_s_max": BAR_P99_S, "clients": CLIENTS, "scans_per_s": SCANS_PER_S},
        "meets_bar": p99_s <= BAR_P99_S and fanned["events_received"] == fanned["events_expected"],
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "cpu_count": os.cpu_count(),
        "note": "bench clients, publisher, gateway and RabbitMQ share the machine's cores",
    }


def main() -> None:
    result: dict[str, Any] = {}
    env = {"STREAM_MAX_PER_ACCOUNT": str(CLIENTS + 10), "LOG_LEVEL": "WARNING"}
    with gateway_stack("qrforge_bench_stream", env) as stack:
        result = uvloop.run(_measure(stack))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
