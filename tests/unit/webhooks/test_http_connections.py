"""The delivery client's HTTP/1.1 framing against a raw local server that answers exactly the
bytes a test scripts: what status an attempt sees, and when a connection is kept or dropped
(seen by the server, as connections it accepted)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from services.runtime.tls_certs import ensure_local_certificates
from services.webhooks.http_delivery import AttemptResult, HttpSender

BODY = b'{"type":"webhook.test"}'


class ScriptedServer:
    """Reads one request (head + Content-Length body) at a time and writes ``answer(n)`` for
    the n-th request overall; ``None`` closes the connection without answering."""

    def __init__(self, answer: Callable[[int], bytes | None]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answer(len(self.requests))
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    sending = HttpSender(("127.0.0.1/32",), timeout_s=2.0, max_response_bytes=1024)
    yield sending
    await sending.close()


async def post_twice(
    sender: HttpSender, answer: Callable[[int], bytes | None]
) -> tuple[AttemptResult, AttemptResult, ScriptedServer]:
    server = ScriptedServer(answer)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/hook?x=1"
        first = await sender.post(url, {"webhook-id": "msg_1"}, BODY)
        second = await sender.post(url, {"webhook-id": "msg_1"}, BODY)
    finally:
        await server.stop()
    return first, second, server


async def test_the_request_is_a_post_with_the_signed_headers_and_the_body(
    sender: HttpSender,
) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    first, _, server = await post_twice(sender, lambda n: ok)
    assert first == AttemptResult(200, "")
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"webhook-id: msg_1" in lines and b"Content-Type: application/json" in lines
    assert body == BODY


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2;ext=1\r\nok\r\n3\r\n!!!\r\n0\r\nX-Trailer: y\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["content-length", "chunked", "no-content", "interim-100"],
)
async def test_complete_keep_alive_answers_reuse_the_connection(
    sender: HttpSender, answer: bytes
) -> None:
    first, second, server = await post_twice(sender, lambda n: answer)
    assert first.accepted and second.accepted
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok-and-then-some",  # bytes past it
        b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000,  # past the cap
    ],
    ids=["connection-close", "http-1.0", "extra-bytes", "over-the-cap"],
)
async def test_answers_that_cannot_be_followed_close_the_connection(
    sender: HttpSender, answer: bytes
) -> None:
    first, second, server = await post_twice(sender, lambda n: answer)
    assert first.accepted and second.accepted  # the status counts either way
    assert server.connections == 2


async def post_to_answer_then_close(sender: HttpSender, answer: bytes) -> AttemptResult:
    """One attempt against a server that writes ``answer`` after the request head, then
    closes the connection."""

    async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(answer_then_close, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        return await sender.post(f"http://127.0.0.1:{port}/", {}, BODY)
    finally:
        listening.close()


async def test_a_body_running_to_the_close_is_read_to_the_close(sender: HttpSender) -> None:
    result = await post_to_answer_then_close(
        sender, b"HTTP/1.1 503 Unavailable\r\n\r\nbusy, try later"
    )
    assert result == AttemptResult(503, "HTTP 503")


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",  # never asked for
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        # A head far over the 64 KiB cap (bounded per read, so the cap is met before its end).
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: " + b"x" * 2**20 + b"\r\n\r\n",
    ],
    ids=[
        "not-http",
        "bad-status",
        "bad-length",
        "bad-chunk",
        "bad-header",
        "switch",
        "not-http-1",
        "head-too-large",
    ],
)
async def test_a_malformed_answer_is_a_failed_attempt(sender: HttpSender, answer: bytes) -> None:
    first, second, server = await post_twice(sender, lambda n: answer)
    assert first == AttemptResult(None, "the answer was not valid HTTP")
    assert second == first and server.connections == 2  # never reused


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
        b"HTTP/1.1 200 O",
    ],
    ids=["short-body", "unfinished-chunks", "unfinished-head"],
)
async def test_an_answer_cut_short_is_a_failed_attempt(sender: HttpSender, answer: bytes) -> None:
    result = await post_to_answer_then_close(sender, answer)
    assert result == AttemptResult(None, "connection failed")


async def test_a_kept_connection_the_server_closed_is_replaced_once(sender: HttpSender) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    # The second request meets a connection the server closes without answering (as an idle
    # timeout racing the request does): it is sent again on a new connection.
    first, second, server = await post_twice(sender, lambda n: None if n == 2 else ok)
    assert first.accepted and second.accepted
    assert len(server.requests) == 3 and server.connections == 2


async def test_a_new_connection_closed_without_an_answer_is_a_failed_attempt(
    sender: HttpSender,
) -> None:
    first, _, server = await post_twice(sender, lambda n: None)
    assert first == AttemptResult(None, "connection failed")
    assert len(server.requests) == 2  # one each: a new connection is not tried twice


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-id": "a\r\nX-Evil: 1"},
        {"webhook-id": "a\nX-Evil: 1"},
        {"x-a\r\nX-Evil": "1"},
        {"webhook-id": "a\0b"},
    ],
    ids=["crlf-in-value", "lf-in-value", "crlf-in-name", "nul-in-value"],
)
async def test_a_header_value_cannot_inject_lines(
    sender: HttpSender, headers: dict[str, str]
) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    server = ScriptedServer(lambda n: ok)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/"
        result = await sender.post(url, headers, BODY)
    finally:
        await server.stop()
    assert result.status_code is None and server.requests == []


async def test_https_checks_the_certificate_and_keeps_the_connection(tmp_path: Path) -> None:
    files = ensure_local_certificates(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(files.cert, files.key)
    server = ScriptedServer(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    await server.start(tls)
    url = f"https://localhost:{server.port}/hook"
    trusting = HttpSender(
        ("localhost",),
        timeout_s=2.0,
        max_response_bytes=1024,
        ssl_context=ssl.create_default_context(cafile=str(files.ca)),
    )
    system_store = HttpSender(("localhost",), timeout_s=2.0, max_response_bytes=1024)
    try:
        assert (await trusting.post(url, {}, BODY)).accepted
        assert (await trusting.post(url, {}, BODY)).accepted
        refused = await system_store.post(url, {}, BODY)
    finally:
        await trusting.close()
        await system_store.close()
        await server.stop()
    assert refused == AttemptResult(None, "TLS handshake or certificate check failed")
    # Both requests on one kept connection; nothing was sent where the check failed.
    assert len(server.requests) == 2 and server.connections == 1
