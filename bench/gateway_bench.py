"""Gateway ``POST /v1/qrcodes/generate`` end to end under concurrent load.

Starts its own system (throw-away DB + vhost, render, keys, gateway as processes), warms up,
then drives it with Debian's ``wrk`` (native, so the load generator takes little of the two
cores it shares with the services) and a Lua script that sends a different URL each request.
Prints one JSON object. Bars (DESIGN.md): ≥ 1,000 req/s, p99 ≤ 50 ms.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.support.stack import gateway_system

DURATION_S = 10
CONNECTIONS = 16
THREADS = 1

_LUA = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"type":"url","content":"https://example.com/product/' .. counter .. '"}')
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def run_wrk(url: str, key: str, duration_s: int, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % key)
    output = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration_s}s", "--latency",
         "-s", script.name, f"{url}/v1/qrcodes/generate"],
        capture_output=True, text=True, check=True, timeout=duration_s + 30,
    ).stdout  # fmt: skip
    Path(script.name).unlink()
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, flags=re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": round(_ms(latency["50"]), 2),
        "p99_ms": round(_ms(latency["99"]), 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    with gateway_system() as (url, account):
        run_wrk(url, account.api_key, 2, 4)  # warm-up: pools, caches, render workers
        figures = run_wrk(url, account.api_key, DURATION_S, CONNECTIONS)
    result = {
        "benchmark": "gateway_static_generate",
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION_S}s, a new URL each request",
        **figures,
        "bar": {"requests_per_s": 1000, "p99_ms": 50},
        "meets_bar": figures["requests_per_s"] >= 1000 and figures["p99_ms"] <= 50,
        "note": "wrk, gateway, render (2 workers), keys and Postgres share the 2 cores",
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
