"""The public HTTP edges of the gateway and the redirect under hostile clients, from outside:
malformed ``Authorization`` headers (nothing echoed, nothing secret logged), clients that
trickle headers or bodies, and uploads abandoned half-way.

A dedicated gateway and redirect run with short header/body deadlines and their own log files,
so what the tests read in a log is what these requests caused.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import ApiAccount, Stack

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 2.0
EDGE_ENV = {
    "HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
}
# Far beyond both deadlines, so a slow shared machine cannot fail a test that should pass;
# without the deadlines the server would wait for an hour.
CLOSE_WAIT_S = 30.0
CLIENT_IP = "127.0.0.1"


@dataclass
class EdgeService:
    process: ServiceProcess
    port: int
    log_from: int  # the log file's size before this run: earlier runs append to the same file

    def log_text(self) -> str:
        with self.process.log_path.open("rb") as log:
            log.seek(self.log_from)
            return log.read().decode("utf-8", "replace")

    def metrics(self) -> dict[tuple[str, str, str], float]:
        """``qrforge_http_requests_total`` by (route, method, status)."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.process.admin_port}/metrics", timeout=5
        ) as resp:
            text = resp.read().decode()
        counts: dict[tuple[str, str, str], float] = {}
        for family in text_string_to_metric_families(text):
            if family.name != "qrforge_http_requests":
                continue
            for sample in family.samples:
                if sample.name == "qrforge_http_requests_total":
                    labels = sample.labels
                    counts[(labels["route"], labels["method"], labels["status"])] = sample.value
        return counts


def _started(process: ServiceProcess, port: int) -> EdgeService:
    process.wait_ready()
    return EdgeService(process, port, log_from=process.log_start)


@pytest.fixture(scope="module")
def edge_gateway(stack: Stack) -> Iterator[EdgeService]:
    process, url = stack.start_gateway(name="gateway-edges", env=EDGE_ENV)
    try:
        yield _started(process, int(url.rsplit(":", 1)[1]))
    finally:
        process.stop()


@pytest.fixture(scope="module")
def edge_redirect(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeService]:
    port, admin = free_port(), free_port()
    process = stack.start(
        "redirect-edges",
        "services.redirect",
        {
            "REDIRECT_PORT": str(port),
            "REDIRECT_ADMIN_PORT": str(admin),
            "SPOOL_DIR": str(tmp_path_factory.mktemp("redirect-edges-spool")),
            **EDGE_ENV,
        },
        admin,
    )
    try:
        yield _started(process, port)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def edge_account(stack: Stack) -> ApiAccount:
    return stack.create_account("edges")


async def _exchange(port: int, request: bytes, *, close_write: bool = False) -> bytes:
    """Send raw bytes, return everything the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        if close_write:
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), CLOSE_WAIT_S)
    finally:
        writer.close()


def _response_parts(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def _closed_while_trickling(port: int, first: bytes, trickle: bytes) -> bool:
    """Send ``first``, then one byte of ``trickle`` at a time; whether the server closed the
    connection before ``CLOSE_WAIT_S`` (a read sees EOF or the write fails)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    deadline = time.monotonic() + CLOSE_WAIT_S
    try:
        writer.write(first)
        await writer.drain()
        for byte in trickle * 1000:
            if time.monotonic() > deadline:
                return False
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.3)
            except TimeoutError:
                data = None
            except ConnectionError:
                return True
            if data is not None:
                # EOF, or a response (a 408/400) followed by the close: either way it is over.
                return True
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                return True
        return False
    finally:
        writer.close()


def _http_request(
    method: str, path: str, headers: dict[str, str] | list[tuple[str, bytes]], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        lines.append(
            name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        )
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- 11: malformed Authorization headers: nothing echoed, nothing secret logged -----------------


def _malformed_auth_requests(api_key: str) -> dict[str, bytes]:
    return {
        "control byte": _http_request(
            "GET", "/v1/account/usage", [("Authorization", f"Bearer {api_key}\x01x".encode())]
        ),
        "over 8 KiB": _http_request(
            "GET",
            "/v1/account/usage",
            [("Authorization", f"Bearer {api_key}{'a' * 9000}".encode())],
        ),
        "X-API-Key with a control byte": _http_request(
            "GET", "/v1/account/usage", [("X-API-Key", f"{api_key}\x7f".encode())]
        ),
    }


async def test_malformed_auth_headers_are_refused_without_echo_or_secret_in_logs(
    edge_gateway: EdgeService, edge_redirect: EdgeService, edge_account: ApiAccount
) -> None:
    key = edge_account.api_key
    secret_part = key.removeprefix("sk_live_")
    for service in (edge_gateway, edge_redirect):
        for case, request in _malformed_auth_requests(key).items():
            status, body = _response_parts(await _exchange(service.port, request))
            assert status == 400, (case, body)
            assert secret_part.encode() not in body, case
            assert b"Authorization" not in body and b"X-API-Key" not in body, case
    # The gateway's refusal is in API.md's envelope.
    _, body = _response_parts(
        await _exchange(edge_gateway.port, _malformed_auth_requests(key)["control byte"])
    )
    assert json.loads(body)["error"]["code"] == "INVALID_PARAMETER"

    for service in (edge_gateway, edge_redirect):
        log = service.log_text()
        assert secret_part not in log
        assert CLIENT_IP not in log
        assert "Traceback" not in log


# --- 12: slow clients ---------------------------------------------------------------------------


@pytest.mark.parametrize("port_name", ["gateway", "redirect", "gateway admin"])
async def test_trickled_headers_are_cut_off(
    edge_gateway: EdgeService, edge_redirect: EdgeService, port_name: str
) -> None:
    port = {
        "gateway": edge_gateway.port,
        "redirect": edge_redirect.port,
        # The admin port keeps the default deadline (10 s): still well within CLOSE_WAIT_S.
        "gateway admin": edge_gateway.process.admin_port,
    }[port_name]
    assert await _closed_while_trickling(
        port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: abcdefgh"
    )


@pytest.mark.parametrize("service_name", ["gateway", "redirect"])
async def test_a_connection_that_sends_nothing_is_closed(
    edge_gateway: EdgeService, edge_redirect: EdgeService, service_name: str
) -> None:
    service = edge_gateway if service_name == "gateway" else edge_redirect
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        assert await asyncio.wait_for(reader.read(), CLOSE_WAIT_S) == b""
    finally:
        writer.close()


async def test_a_trickled_json_body_gets_invalid_json(
    edge_gateway: EdgeService, edge_account: ApiAccount
) -> None:
    request = _http_request(
        "POST",
        "/v1/qrcodes/generate",
        {
            **edge_account.headers,
            "Content-Type": "application/json",
            "Content-Length": "1000",
        },
        b'{"type": "text",',
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", edge_gateway.port)
    try:
        writer.write(request)
        await writer.drain()
        raw = b""
        deadline = time.monotonic() + CLOSE_WAIT_S
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            assert time.monotonic() < deadline, "no answer to a body that stopped arriving"
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.3)
            except TimeoutError:
                writer.write(b" ")  # keep trickling: the deadline is on the whole body
                await writer.drain()
                continue
            if not chunk:
                break
            raw += chunk
    finally:
        writer.close()
    status, body = _response_parts(raw)
    assert status == 400
    assert json.loads(body)["error"]["code"] == "INVALID_JSON"


async def test_a_trickled_password_form_is_cut_off(
    stack: Stack,
    edge_redirect: EdgeService,
    edge_account: ApiAccount,
    http: aiohttp.ClientSession,
) -> None:
    async with http.post(
        f"{stack.gateway_url}/v1/qrcodes/dynamic",
        json={
            "name": "slow form",
            "destination_url": "https://example.com/slow",
            "protection": {"password": "s3cret!"},
        },
        headers=edge_account.headers,
    ) as resp:
        assert resp.status == 201, await resp.text()
        short_code = (await resp.json())["data"]["short_url"].rsplit("/", 1)[1]
    request = _http_request(
        "POST",
        f"/{short_code}",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "1000"},
        b"password=s3",
    )
    assert await _closed_while_trickling(edge_redirect.port, request, b"cret")


async def test_abandoned_uploads_are_not_server_errors(
    edge_gateway: EdgeService, edge_account: ApiAccount
) -> None:
    aborted = 100
    before = edge_gateway.metrics()
    request = _http_request(
        "POST",
        "/v1/qrcodes/generate",
        {**edge_account.headers, "Content-Type": "application/json", "Content-Length": "100000"},
        b'{"type": "',
    )
    for _ in range(aborted):
        _, writer = await asyncio.open_connection("127.0.0.1", edge_gateway.port)
        writer.write(request)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    def counted_since_before() -> dict[str, float]:
        by_status: dict[str, float] = {}
        for (route, method, status), value in edge_gateway.metrics().items():
            if route == "/v1/qrcodes/generate" and method == "POST":
                grown = value - before.get((route, method, status), 0.0)
                if grown:
                    by_status[status] = by_status.get(status, 0.0) + grown
        return by_status

    deadline = time.monotonic() + CLOSE_WAIT_S
    while sum((counts := counted_since_before()).values()) < aborted:
        assert time.monotonic() < deadline, f"only {counts} of {aborted} requests finished"
        await asyncio.sleep(0.2)
    assert not {status for status in counts if status.startswith("5")}, counts
    assert counts.get("499", 0) > 0, counts
    assert "Traceback" not in edge_gateway.log_text()


async def test_a_body_that_says_gzip_and_is_not_is_invalid_json_without_a_traceback(
    edge_gateway: EdgeService, edge_account: ApiAccount, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"http://127.0.0.1:{edge_gateway.port}/v1/qrcodes/generate",
        data=b'{"type": "text", "content": "not gzip at all"}',
        headers={
            **edge_account.headers,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "INVALID_JSON"
    # aiohttp drains an unread body after the response ("lingering"): a body that cannot be
    # decoded must not be met there again and logged as an unhandled exception.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert "Traceback" not in edge_gateway.log_text()
        await asyncio.sleep(0.1)
