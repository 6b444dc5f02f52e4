"""Redirect service, cache hit with the scan event published, against a bare aiohttp handler
answering the same 302 — same run, same process count (one server process each).

The bar's reference is the usual bare handler: an ``Application`` with one route. The redirect
serves from aiohttp's low-level ``web.Server`` (its own choice, for speed), so the same 302 from
a bare low-level server is measured too and its ratio reported beside the bar: that one is the
cost of the redirect's own work (cache, decision, scan capture and publishing) alone.

Load comes from Debian ``wrk`` on loopback (one thread, so the server keeps the other core):

* throughput: ``wrk -t1 -c64 -d5s``, each server measured five times, interleaved, best run
  kept (this shared machine's speed drifts by ±10% between runs);
* latency at half of the bare handler's throughput: ``wrk`` has no fixed-rate mode (wrk2 is not
  in Debian), so a Lua ``delay()`` makes each connection wait ``DELAY_MS`` after every response;
  ``connections = rate * DELAY_MS`` gives (at most) the target rate as a closed loop, and wrk
  times each request from its send, so the p99 excludes the think time. The achieved rate is
  reported next to the target;
* instructions per request of each server process (callgrind, 2,000 keep-alive GETs after a
  warm-up): repeatable to about 1%, where requests/s on this shared machine swing by 10-30%
  between runs. Reported, not the bar; ``BENCH_REDIRECT_INSTRUCTIONS=0`` skips it (~3 min).

The redirect service runs against a throw-away Postgres database and a scratch RabbitMQ vhost
with a durable queue bound to ``scans``, so every event is really routed, persisted and
confirmed. Prints one JSON object. Bars (DESIGN.md): ratio ≥ 0.8, p99 ≤ 10 ms at half load.

Routed codes (issue 16): a second code with 20 rules and 3 weighted variants is measured in the
same runs, interleaved. No rule matches the bench's phone (an iPhone, English, from loopback),
so every scan evaluates all 20 rules (device, OS, country, language and query conditions)
before the keyed variant hash picks its destination: the worst case. Its bar: ≥ 85% of the
plain code's requests/s, p99 ≤ 10 ms at half load; instructions per request of both reported.
Every request carries the phone's User-Agent and Accept-Language (the plain code's too).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import uvloop
from aiohttp import web

from services.runtime.amqp import declare_topic_exchange
from services.runtime.migrations import apply_migrations, discover
from services.runtime.topics import SCANS_EXCHANGE
from tests.support.backing import create_database, drop_database, scratch_name, scratch_vhost
from tests.support.processes import ROOT, ServiceProcess, free_port

# Instruction counts (callgrind): the figure this shared machine cannot blur. Off with =0.
INSTRUCTIONS = os.environ.get("BENCH_REDIRECT_INSTRUCTIONS", "1") != "0"
INSTRUCTION_REQUESTS = 2000
CODE = "BenchCode7"
ROUTED_CODE = "BenchRules7"
DESTINATION = "https://example.com/landing?campaign=bench"
# 20 rules the bench's iPhone never matches, all condition kinds, then 3 variants.
ROUTED_RULES = [
    {"if": condition, "destination_url": f"https://example.com/rule/{index}"}
    for index, condition in enumerate(
        [{"os": ["android"], "country": ["FR"]}] * 4
        + [{"device": ["desktop", "tablet"]}] * 4
        + [{"country": ["DE", "AT", "CH"]}] * 4
        + [{"language": ["fr", "de"], "os": ["ios"]}] * 4
        + [{"query": {"src": "poster"}}] * 4
    )
]
ROUTED_VARIANTS = [
    {"destination_url": f"https://example.com/variant/{name}", "weight": weight}
    for name, weight in (("a", 50), ("b", 30), ("c", 20))
]
ROUTING_BARS = {"ratio_min": 0.85, "p99_max_ms": 10.0}
AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
LANGUAGE = "en-US,en;q=0.9"
DURATION_S = 5
CONNECTIONS = 64
DELAY_MS = 2
RUNS = 5

_LUA = """
local delay_ms = %d
function delay()
  return delay_ms
end
done = function(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"errors\\": %%d, "
    .. "\\"non2xx\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, \\"max_us\\": %%d}\\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def bare_server(port: int, low_level: bool = False) -> None:
    """The reference: one aiohttp handler answering the same 302 on the same route shape, on
    the same event loop (uvloop) the services run on. ``low_level`` serves the handler with
    aiohttp's low-level ``web.Server`` (no Application, router or middleware), as the redirect
    service does: reported beside the bar, to show what the redirect's own work costs."""

    async def redirect(_request: web.BaseRequest) -> web.Response:
        return web.Response(
            status=302, headers={"Location": DESTINATION, "Cache-Control": "no-store"}
        )

    async def serve() -> None:
        if low_level:
            runner: web.BaseRunner = web.ServerRunner(web.Server(redirect, access_log=None))
        else:
            app = web.Application()
            app.router.add_get("/{code}", redirect)
            runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    uvloop.run(serve())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _broker_pid() -> int | None:
    """RabbitMQ's Erlang VM on this machine, when it runs here (its CPU is reported too)."""
    # The process name, not -f: a full command line mentioning beam.smp (another bench's pgrep)
    # matched too, and was gone before its /proc/<pid>/stat could be read.
    found = subprocess.run(
        ["pgrep", "-o", "-x", "beam.smp"], check=False, capture_output=True, text=True
    ).stdout
    return int(found.split()[0]) if found.split() else None


def _wrk(
    url: str, connections: int, delay_ms: int, lua_dir: Path, pid: int | None = None
) -> dict[str, Any]:
    script = lua_dir / f"delay{delay_ms}.lua"
    script.write_text(_LUA % delay_ms)
    broker = _broker_pid() if pid else None
    cpu_before = _cpu_seconds(pid) if pid else 0.0
    broker_before = _cpu_seconds(broker) if broker else 0.0
    headers = ["-H", f"User-Agent: {AGENT}", "-H", f"Accept-Language: {LANGUAGE}"]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{DURATION_S}s", *headers, "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    data: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    if pid:
        data["cpu_us_per_request"] = (_cpu_seconds(pid) - cpu_before) / data["requests"] * 1e6
    if broker:
        broker_s = _cpu_seconds(broker) - broker_before
        data["broker_cpu_us_per_request"] = broker_s / data["requests"] * 1e6
    # wrk counts 3xx as "non-2xx"; every answer here must be the 302, checked separately.
    return data


def _sequential_requests(url: str, count: int) -> None:
    """``count`` GETs on one keep-alive connection, as a phone's browser would send them."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"User-Agent": AGENT, "Accept-Language": LANGUAGE}
    try:
        for _ in range(count):
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 302:
                raise RuntimeError(f"{url} answered {response.status}")
    finally:
        connection.close()


def _instructions_per_request(
    argv: list[str], url: str, workdir: Path, env: dict[str, str] | None = None
) -> float:
    """Instructions the server process executes per request (all its threads), counted by
    callgrind over ``INSTRUCTION_REQUESTS`` requests after a warm-up. Repeatable to within
    about 1% whatever else the machine runs, unlike requests per second."""
    out = workdir / f"callgrind-{free_port()}.out"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            *argv,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(url, timeout_s=180.0)
        _sequential_requests(url, 300)
        for command in (["-i", "on"], None, ["-i", "off"], ["-d"]):
            if command is None:
                _sequential_requests(url, INSTRUCTION_REQUESTS)
            else:
                subprocess.run(
                    ["callgrind_control", *command, str(server.pid)],
                    check=True,
                    capture_output=True,
                )
    finally:
        server.terminate()
        server.wait(60)
    total = 0
    for dump in workdir.glob(out.name + "*"):  # the dump asked for, then the one at exit
        total += max(
            (
                int(line.split()[1])
                for line in dump.read_text().splitlines()
                if line.startswith(("summary:", "totals:"))
            ),
            default=0,
        )
    if total == 0:
        raise RuntimeError(f"callgrind counted nothing for {argv}")
    return total / INSTRUCTION_REQUESTS


def _count_instructions(service_env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Instructions per request of the three servers, one after the other."""
    counts: dict[str, float] = {}
    for name, low_level in (("bare", False), ("bare_low_level", True)):
        port = free_port()
        counts[name] = _instructions_per_request(
            [
                sys.executable,
                "-c",
                f"from bench.redirect_bench import bare_server; bare_server({port}, {low_level})",
            ],
            f"http://127.0.0.1:{port}/{CODE}",
            workdir,
        )
    port = free_port()
    env = {
        **os.environ,
        **service_env,
        "REDIRECT_PORT": str(port),
        "REDIRECT_ADMIN_PORT": str(free_port()),
        "SPOOL_DIR": str(workdir / "spool-callgrind"),
        # Requests run ~50x slower under callgrind: a longer linger keeps messages as large as
        # under real load (hundreds of events each), so the publishing cost per scan is the same.
        "REDIRECT_PUBLISH_LINGER_S": "0.5",
    }
    counts["redirect"] = _instructions_per_request(
        [sys.executable, "-m", "services.redirect"], f"http://127.0.0.1:{port}/{CODE}", workdir, env
    )
    port = free_port()
    env = {
        **env,
        "REDIRECT_PORT": str(port),
        "REDIRECT_ADMIN_PORT": str(free_port()),
        "SPOOL_DIR": str(workdir / "spool-callgrind-routed"),
    }
    counts["redirect_routed"] = _instructions_per_request(
        [sys.executable, "-m", "services.redirect"],
        f"http://127.0.0.1:{port}/{ROUTED_CODE}",
        workdir,
        env,
    )
    return {
        **{name: round(count) for name, count in counts.items()},
        "ratio": round(counts["bare"] / counts["redirect"], 3),
        "ratio_vs_low_level": round(counts["bare_low_level"] / counts["redirect"], 3),
        "routed_vs_plain": round(counts["redirect"] / counts["redirect_routed"], 3),
        "method": f"callgrind, {INSTRUCTION_REQUESTS} keep-alive GETs after a warm-up, server only",
    }


def _status(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _wait_port(url: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if _status(url) == 302:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


async def _prepare_database(dsn: str) -> None:
    await apply_migrations(dsn, [m for m in discover() if m.service == "gateway"])
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO qr_codes (qr_id, account_id, kind, qr_type, content, payload, format,
                   size, error_correction, quiet_zone, design, version, short_code,
                   destination_url)
               VALUES ('qr_bench', 'acc_bench', 'dynamic', 'url', '{}'::jsonb, 'x', 'png', 512,
                   'M', 4, '{}'::jsonb, 1, $1, $2)""",
            CODE,
            DESTINATION,
        )
        await conn.execute(
            """INSERT INTO qr_codes (qr_id, account_id, kind, qr_type, content, payload, format,
                   size, error_correction, quiet_zone, design, version, short_code,
                   destination_url, rules, variants)
               VALUES ('qr_bench_routed', 'acc_bench', 'dynamic', 'url', '{}'::jsonb, 'x', 'png',
                   512, 'M', 4, '{}'::jsonb, 1, $1, $2, $3::jsonb, $4::jsonb)""",
            ROUTED_CODE,
            DESTINATION,
            json.dumps(ROUTED_RULES),
            json.dumps(ROUTED_VARIANTS),
        )
    finally:
        await conn.close()


async def _bind_queue(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_topic_exchange(channel, SCANS_EXCHANGE)
        queue = await channel.declare_queue("bench.scans", durable=True)
        await queue.bind(exchange, routing_key="#")


async def _queued_events(amqp_url: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("bench.scans", durable=True, passive=True)
        return int(queue.declaration_result.message_count or 0)


def _metric(admin_port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def main() -> int:
    if shutil.which("wrk") is None:
        print(json.dumps({"bench": "redirect", "error": "wrk not installed (apt-get install wrk)"}))
        return 1
    db_name = scratch_name("qrforge_bench_redirect")
    dsn = asyncio.run(create_database(db_name))
    lua_dir = Path(tempfile.mkdtemp(prefix="redirect-bench-"))
    bare_port, low_port, port, admin_port = free_port(), free_port(), free_port(), free_port()
    bare, low = (
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from bench.redirect_bench import bare_server; bare_server({p}, {low_level})",
            ]
        )
        for p, low_level in ((bare_port, False), (low_port, True))
    )
    service: ServiceProcess | None = None
    try:
        asyncio.run(_prepare_database(dsn))
        with scratch_vhost(scratch_name("qrforge_bench_redirect")) as amqp_url:
            asyncio.run(_bind_queue(amqp_url))
            service_env = {
                "DATABASE_URL": dsn,
                "AMQP_URL": amqp_url,
                "LOG_LEVEL": "WARNING",
                # Settings under test can be passed through (REDIRECT_PUBLISH_LINGER_S=…).
                **{k: v for k, v in os.environ.items() if k.startswith("REDIRECT_")},
            }
            service = ServiceProcess(
                "redirect-bench",
                "services.redirect",
                {
                    **service_env,
                    "REDIRECT_PORT": str(port),
                    "REDIRECT_ADMIN_PORT": str(admin_port),
                    "SPOOL_DIR": str(lua_dir / "spool"),
                },
                admin_port,
            )
            service.start()
            service.wait_ready()
            bare_url = f"http://127.0.0.1:{bare_port}/{CODE}"
            low_url = f"http://127.0.0.1:{low_port}/{CODE}"
            redirect_url = f"http://127.0.0.1:{port}/{CODE}"
            routed_url = f"http://127.0.0.1:{port}/{ROUTED_CODE}"
            _wait_port(bare_url)
            _wait_port(low_url)
            _wait_port(redirect_url)  # fills the cache: every later request is a hit
            _wait_port(routed_url)
            _wrk(bare_url, 8, 0, lua_dir)  # warm them up
            _wrk(low_url, 8, 0, lua_dir)
            _wrk(redirect_url, 8, 0, lua_dir)
            _wrk(routed_url, 8, 0, lua_dir)
            time.sleep(0.5)  # let the warm-up's events be confirmed before counting
            published_before = _metric(admin_port, "qrforge_redirect_events_published_total")
            redirected_before = _metric(
                admin_port, 'qrforge_redirect_scans_total{outcome="redirected"}'
            )

            bare_runs, low_runs, redirect_runs, routed_runs = [], [], [], []
            assert service.process is not None
            redirect_pid = service.process.pid
            for _ in range(RUNS):
                bare_runs.append(_wrk(bare_url, CONNECTIONS, 0, lua_dir, bare.pid))
                low_runs.append(_wrk(low_url, CONNECTIONS, 0, lua_dir, low.pid))
                redirect_runs.append(_wrk(redirect_url, CONNECTIONS, 0, lua_dir, redirect_pid))
                routed_runs.append(_wrk(routed_url, CONNECTIONS, 0, lua_dir, redirect_pid))
            bare_best = max(bare_runs, key=lambda r: r["rps"])
            low_best = max(low_runs, key=lambda r: r["rps"])
            redirect_best = max(redirect_runs, key=lambda r: r["rps"])
            routed_best = max(routed_runs, key=lambda r: r["rps"])

            target = bare_best["rps"] / 2
            # Closed loop: each connection does one request (~0.5 ms) then waits DELAY_MS.
            half_connections = max(1, round(target * (DELAY_MS + 0.5) / 1000))
            half = _wrk(redirect_url, half_connections, DELAY_MS, lua_dir)
            bare_half = _wrk(bare_url, half_connections, DELAY_MS, lua_dir)
            # Half of the plain code's own throughput, for the routed code's latency bar.
            routed_connections = max(1, round(redirect_best["rps"] / 2 * (DELAY_MS + 0.5) / 1000))
            routed_half = _wrk(routed_url, routed_connections, DELAY_MS, lua_dir)

            served = sum(r["requests"] for r in [*redirect_runs, *routed_runs]) + (
                half["requests"] + routed_half["requests"]
            )
            time.sleep(1.0)
            published = _metric(admin_port, "qrforge_redirect_events_published_total")
            redirected = _metric(admin_port, 'qrforge_redirect_scans_total{outcome="redirected"}')
            spooled = _metric(admin_port, "qrforge_redirect_events_spooled_total")
            failures = _metric(admin_port, "qrforge_redirect_publish_failures_total")
            queued = asyncio.run(_queued_events(amqp_url))
            instructions = (
                _count_instructions(service_env, lua_dir)
                if INSTRUCTIONS and shutil.which("callgrind_control")
                else None
            )
            ratio = redirect_best["rps"] / bare_best["rps"]
            routed_ratio = routed_best["rps"] / redirect_best["rps"]
            routed_p99_ms = routed_half["p99_us"] / 1000
            routed_pass = (
                routed_ratio >= ROUTING_BARS["ratio_min"]
                and routed_p99_ms <= ROUTING_BARS["p99_max_ms"]
            )
            routed_instructions = (instructions or {}).get("redirect_routed")
            result = {
                "bench": "redirect",
                "load": f"wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s, best of {RUNS}, interleaved",
                "bare_rps": round(bare_best["rps"]),
                "redirect_rps": round(redirect_best["rps"]),
                "ratio": round(ratio, 3),
                # Not the bar: the same 302 from aiohttp's low-level server, which the redirect
                # runs on; this ratio is the cost of the redirect's own work alone.
                "bare_low_level_rps": round(low_best["rps"]),
                "ratio_vs_low_level": round(redirect_best["rps"] / low_best["rps"], 3),
                "runs_rps": {
                    "bare": [round(r["rps"]) for r in bare_runs],
                    "bare_low_level": [round(r["rps"]) for r in low_runs],
                    "redirect": [round(r["rps"]) for r in redirect_runs],
                },
                # Server CPU per request (from /proc): less sensitive to other load on the box.
                "cpu_us_per_request": {
                    "bare": round(min(r["cpu_us_per_request"] for r in bare_runs), 1),
                    "bare_low_level": round(min(r["cpu_us_per_request"] for r in low_runs), 1),
                    "redirect": round(min(r["cpu_us_per_request"] for r in redirect_runs), 1),
                    # What RabbitMQ spends routing, persisting and confirming the scan events:
                    # on this machine it shares the two cores with the server and wrk.
                    "broker_during_redirect": round(
                        min(r.get("broker_cpu_us_per_request", 0.0) for r in redirect_runs), 1
                    ),
                    "broker_during_bare": round(
                        min(r.get("broker_cpu_us_per_request", 0.0) for r in bare_runs), 1
                    ),
                },
                "instructions_per_request": instructions,
                "half_load": {
                    "target_rps": round(target),
                    "method": f"wrk -t1 -c{half_connections} + Lua delay() {DELAY_MS} ms",
                    "redirect_achieved_rps": round(half["rps"]),
                    "redirect_p50_ms": round(half["p50_us"] / 1000, 3),
                    "redirect_p99_ms": round(half["p99_us"] / 1000, 3),
                    "bare_p99_ms": round(bare_half["p99_us"] / 1000, 3),
                },
                "routed": {
                    "code": f"{len(ROUTED_RULES)} rules (none matches) + {len(ROUTED_VARIANTS)} variants",
                    "rps": round(routed_best["rps"]),
                    "plain_rps": round(redirect_best["rps"]),
                    "ratio_vs_plain": round(routed_ratio, 3),
                    "runs_rps": [round(r["rps"]) for r in routed_runs],
                    "cpu_us_per_request": round(
                        min(r["cpu_us_per_request"] for r in routed_runs), 1
                    ),
                    "instructions_per_request": routed_instructions,
                    "plain_instructions_per_request": (instructions or {}).get("redirect"),
                    "half_load": {
                        "target_rps": round(redirect_best["rps"] / 2),
                        "achieved_rps": round(routed_half["rps"]),
                        "p50_ms": round(routed_half["p50_us"] / 1000, 3),
                        "p99_ms": round(routed_p99_ms, 3),
                    },
                    "bars": ROUTING_BARS,
                    "pass": routed_pass,
                },
                "errors": sum(
                    r["errors"] for r in [*bare_runs, *redirect_runs, *routed_runs, half]
                ),
                "events": {
                    "served_302": served,
                    "redirected_metric": redirected - redirected_before,
                    "published_confirmed": published - published_before,
                    "spooled": spooled,
                    "publish_failures": failures,
                    "messages_in_queue": queued,
                },
                "bars": {"ratio_min": 0.8, "p99_max_ms": 10.0},
                "pass": ratio >= 0.8 and half["p99_us"] / 1000 <= 10.0 and routed_pass,
            }
            print(json.dumps(result))
            return 0 if result["pass"] else 1
    finally:
        if service is not None:
            service.stop()
        for reference in (bare, low):
            reference.terminate()
            reference.wait(10)
        asyncio.run(drop_database(db_name))
        shutil.rmtree(lua_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
