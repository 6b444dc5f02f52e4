"""The live scan stream, ``GET /v1/stream/scans``, through a real gateway process and RabbitMQ.

Enriched scans are published on ``scans.enriched`` directly (as analytics does once a scan is
stored), and what SSE clients read is checked: their own account's scans within a second,
never another account's, one code's only with ``qr_id``, heartbeat comments, the per-account
cap, reconnecting (the client's, and the gateway's after a broker outage), a revoked key
ending its stream, and SIGTERM ending streams cleanly without holding the shutdown.

The module's gateway reaches RabbitMQ through a fault-injecting proxy, with a 0.3 s heartbeat
and a cap of 3 streams per account.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from jsonschema import Draft202012Validator

from services.gateway.docs.routes import load_spec
from services.runtime.amqp import declare_topic_exchange
from services.runtime.enriched_scans import (
    ENRICHED_SCANS_EXCHANGE,
    SCAN_ENRICHED,
    EnrichedScan,
    encode_batch,
)
from tests.integration.test_openapi import SPEC_URI, SpecChecker
from tests.support.api_client import ApiClient
from tests.support.backing import AMQP_HOST
from tests.support.event_stream import EventStream
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess
from tests.support.stack import ApiAccount, Stack, unlimited_account
from tests.support.tcp_proxy import TcpProxy

HEARTBEAT_S: Final = 0.3
MAX_STREAMS: Final = 3
DELIVERY_BAR_S: Final = 1.0
STREAM_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30)


@dataclass
class StreamGateway:
    process: ServiceProcess
    url: str
    proxy: TcpProxy


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[StreamGateway]:
    host, _, port = AMQP_HOST.partition(":")
    proxy = TcpProxy(host, int(port))
    proxy_port = await proxy.start()
    vhost = stack.amqp_url.rsplit("/", 1)[1]
    process, url = stack.start_gateway(
        "gateway-stream",
        {
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{proxy_port}/{vhost}",
            "STREAM_HEARTBEAT_S": str(HEARTBEAT_S),
            "STREAM_MAX_PER_ACCOUNT": str(MAX_STREAMS),
        },
    )
    try:
        # In a thread: the broker link goes through the proxy, which runs on this loop.
        await asyncio.to_thread(process.wait_ready)
        yield StreamGateway(process, url, proxy)
    finally:
        await asyncio.to_thread(process.stop)
        await proxy.close()


@pytest.fixture(scope="module")
async def exchange(stack: Stack) -> AsyncIterator[AbstractExchange]:
    connection: AbstractRobustConnection = await aio_pika.connect_robust(stack.amqp_url)
    try:
        channel = await connection.channel()
        yield await declare_topic_exchange(channel, ENRICHED_SCANS_EXCHANGE)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def checker() -> SpecChecker:
    return SpecChecker(load_spec())


@pytest.fixture(scope="module")
def alice(stack: Stack) -> ApiAccount:
    return unlimited_account(stack, "stream-alice")


@pytest.fixture(scope="module")
def bob(stack: Stack) -> ApiAccount:
    return unlimited_account(stack, "stream-bob")


async def metric(http: aiohttp.ClientSession, gateway: StreamGateway, sample: str) -> float:
    """The value of one sample (name with its labels) on the gateway's admin port, 0 if absent."""
    async with http.get(f"http://127.0.0.1:{gateway.process.admin_port}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
    return 0.0


SENT: Final = 'qrforge_gateway_scan_stream_events_total{outcome="sent"}'


def a_scan(account: ApiAccount, qr_id: str = "qr_streamed", **values: Any) -> EnrichedScan:
    return EnrichedScan(
        event_id=uuid.uuid4().hex,
        account_id=account.account_id,
        qr_id=qr_id,
        scanned_at=datetime.now(UTC),
        **values,
    )


async def publish(exchange: AbstractExchange, scans: list[EnrichedScan]) -> None:
    message = aio_pika.Message(encode_batch(scans), content_type="application/json")
    await exchange.publish(message, routing_key=SCAN_ENRICHED)


@asynccontextmanager
async def open_stream(
    http: aiohttp.ClientSession,
    url: str,
    account: ApiAccount,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[EventStream]:
    async with http.get(
        f"{url}/v1/stream/scans",
        params=params,
        headers={**account.headers, **(headers or {})},
        timeout=STREAM_TIMEOUT,
    ) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers["X-Request-Id"]
        assert "X-RateLimit-Limit" in response.headers
        stream = EventStream(response)
        try:
            opening = await stream.next_frame()
            assert opening is not None and opening.comments == ["connected"]
            yield stream
        finally:
            await stream.close()


def assert_is_the_scan(frame: Any, scan: EnrichedScan, checker: SpecChecker) -> None:
    assert frame.event == "scan"
    assert frame.id == scan.event_id
    data = frame.json
    validator = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/ScanEventData"},
        registry=checker.registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    assert [e.message for e in validator.iter_errors(data)] == []
    assert data["qr_id"] == scan.qr_id
    assert datetime.fromisoformat(data["scanned_at"]) == scan.scanned_at
    assert "account_id" not in data and "ip" not in data


async def test_a_client_sees_its_scans_within_a_second_and_never_another_accounts(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    exchange: AbstractExchange,
    alice: ApiAccount,
    bob: ApiAccount,
    checker: SpecChecker,
) -> None:
    async with (
        open_stream(http, gateway.url, alice) as alice_stream,
        open_stream(http, gateway.url, bob) as bob_stream,
    ):
        alices = [
            a_scan(alice, country="FR", city="Lyon", device="mobile", os="ios", rule=1),
            a_scan(alice, referrer_host="news.example", bot=True, variant=2),
            a_scan(alice),
        ]
        bobs = [a_scan(bob), a_scan(bob)]
        sent_before = await metric(http, gateway, SENT)
        started = time.monotonic()
        await publish(exchange, [alices[0], bobs[0], alices[1], bobs[1], alices[2]])
        received = [await alice_stream.next_event(DELIVERY_BAR_S) for _ in alices]
        assert time.monotonic() - started <= DELIVERY_BAR_S
        for frame, scan in zip(received, alices, strict=True):
            assert_is_the_scan(frame, scan, checker)
        assert received[0].json | {"scanned_at": None} == {
            "qr_id": "qr_streamed",
            "scanned_at": None,
            "country": "FR",
            "city": "Lyon",
            "device": "mobile",
            "os": "ios",
            "browser": None,
            "referrer_host": None,
            "bot": False,
            "rule": 1,
            "variant": None,
        }
        for scan in bobs:
            assert_is_the_scan(await bob_stream.next_event(DELIVERY_BAR_S), scan, checker)

        # Bob's scans alone: Alice's stream sees nothing of them, only her next one.
        await publish(exchange, [a_scan(bob) for _ in range(5)])
        marker = a_scan(alice)
        await publish(exchange, [marker])
        assert_is_the_scan(await alice_stream.next_event(DELIVERY_BAR_S), marker, checker)
        assert await metric(http, gateway, SENT) >= sent_before + 6


async def test_a_malformed_message_is_skipped_and_counted(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    exchange: AbstractExchange,
    alice: ApiAccount,
    checker: SpecChecker,
) -> None:
    malformed = 'qrforge_gateway_enriched_scan_messages_total{outcome="malformed"}'
    before = await metric(http, gateway, malformed)
    async with open_stream(http, gateway.url, alice) as stream:
        for body in (b"not json", b'{"v": 2, "scans": []}', b'{"v": 1, "scans": [{"x": 1}]}'):
            await exchange.publish(aio_pika.Message(body), routing_key=SCAN_ENRICHED)
        scan = a_scan(alice)
        await publish(exchange, [scan])
        assert_is_the_scan(await stream.next_event(DELIVERY_BAR_S), scan, checker)
    assert await metric(http, gateway, malformed) == before + 3


async def test_a_code_stream_carries_that_codes_scans_only(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    exchange: AbstractExchange,
    alice: ApiAccount,
    bob: ApiAccount,
    checker: SpecChecker,
) -> None:
    api = ApiClient(http, gateway.url, alice)
    watched, other = [
        (await api.create_dynamic({"name": n, "destination_url": "https://example.com/"})).data(
            201
        )["qr_id"]
        for n in ("watched", "other")
    ]
    async with open_stream(http, gateway.url, alice, params={"qr_id": watched}) as stream:
        mine = [a_scan(alice, watched), a_scan(alice, watched)]
        await publish(exchange, [a_scan(alice, other), mine[0], a_scan(bob, watched), mine[1]])
        for scan in mine:
            assert_is_the_scan(await stream.next_event(DELIVERY_BAR_S), scan, checker)

    # Bob cannot watch Alice's code, and an id that is not a code id is not found either.
    for account, qr_id in ((bob, watched), (alice, "qr_nonexistent0"), (alice, "nope\x00")):
        async with http.get(
            f"{gateway.url}/v1/stream/scans", params={"qr_id": qr_id}, headers=account.headers
        ) as resp:
            body = await resp.json()
            assert resp.status == 404, body
            assert body["error"]["code"] == "QR_NOT_FOUND"
            checker.validate("GET", "/v1/stream/scans", 404, body, resp.headers)


async def test_heartbeat_comments_arrive_while_idle(
    http: aiohttp.ClientSession, gateway: StreamGateway, alice: ApiAccount
) -> None:
    async with open_stream(http, gateway.url, alice) as stream:
        started = time.monotonic()
        for _ in range(3):
            frame = await stream.next_frame(HEARTBEAT_S + 2)
            assert frame is not None and frame.comments == ["heartbeat"], frame
        assert time.monotonic() - started < 3 * HEARTBEAT_S + 2


async def test_the_cap_on_open_streams_is_per_account(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    stack: Stack,
    bob: ApiAccount,
    checker: SpecChecker,
) -> None:
    carol = unlimited_account(stack, "stream-carol")
    async with AsyncExitStack() as streams:
        opened = [
            await streams.enter_async_context(open_stream(http, gateway.url, carol))
            for _ in range(MAX_STREAMS)
        ]
        async with http.get(f"{gateway.url}/v1/stream/scans", headers=carol.headers) as resp:
            body = await resp.json()
            assert resp.status == 429, body
            assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
            assert body["error"]["details"]["max_streams"] == MAX_STREAMS
            assert int(resp.headers["Retry-After"]) > 0
            checker.validate("GET", "/v1/stream/scans", 429, body, resp.headers)
        assert await metric(http, gateway, "qrforge_gateway_scan_streams_open") >= MAX_STREAMS
        refused = await metric(http, gateway, "qrforge_gateway_scan_streams_refused_total")
        assert refused >= 1
        async with open_stream(http, gateway.url, bob):  # another account is not held back
            pass
        # A client that leaves frees its slot (the gateway notices within a second or so).
        await opened[0].close()

        async def opens() -> bool:
            async with http.get(
                f"{gateway.url}/v1/stream/scans", headers=carol.headers, timeout=STREAM_TIMEOUT
            ) as resp:
                return resp.status == 200

        await eventually(opens, 10, "a stream opening again once one was closed")


async def test_a_client_that_reconnects_gets_the_scans_from_then_on(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    exchange: AbstractExchange,
    alice: ApiAccount,
    checker: SpecChecker,
) -> None:
    first = a_scan(alice)
    async with open_stream(http, gateway.url, alice) as stream:
        await publish(exchange, [first])
        assert_is_the_scan(await stream.next_event(DELIVERY_BAR_S), first, checker)
    # No replay: Last-Event-ID is accepted, and the stream carries on from live.
    async with open_stream(
        http, gateway.url, alice, headers={"Last-Event-ID": first.event_id}
    ) as s:
        second = a_scan(alice)
        await publish(exchange, [second])
        assert_is_the_scan(await s.next_event(DELIVERY_BAR_S), second, checker)


async def test_an_open_stream_carries_on_after_the_gateway_lost_the_broker(
    http: aiohttp.ClientSession,
    gateway: StreamGateway,
    exchange: AbstractExchange,
    alice: ApiAccount,
    checker: SpecChecker,
) -> None:
    async with open_stream(http, gateway.url, alice) as stream:
        await gateway.proxy.cut()
        gateway.proxy.restore()

        # Scans stored while the gateway was away are not replayed: publish until one arrives.
        published: dict[str, EnrichedScan] = {}

        async def delivered() -> bool:
            scan = a_scan(alice)
            published[scan.event_id] = scan
            await publish(exchange, [scan])
            try:
                frame = await stream.next_event(0.5)  # heartbeats skipped
            except TimeoutError:
                return False
            assert frame.id in published, frame
            assert_is_the_scan(frame, published[frame.id], checker)
            return True

        await eventually(delivered, 30, "a scan on the open stream once the broker is back")
        # And with the link back, promptly again (after any late one of the attempts above).
        scan = a_scan(alice)
        await publish(exchange, [scan])
        while (frame := await stream.next_event(DELIVERY_BAR_S)).id in published:
            pass
        assert_is_the_scan(frame, scan, checker)


async def test_a_revoked_key_ends_its_stream(
    http: aiohttp.ClientSession, gateway: StreamGateway, stack: Stack, alice: ApiAccount
) -> None:
    api = ApiClient(http, stack.gateway_url, alice)
    created = (await api.create_api_key({"name": "watcher", "permissions": ["read"]})).data(201)
    watcher = ApiAccount(alice.account_id, created["api_key"])
    revoked = 'qrforge_gateway_scan_streams_closed_total{reason="key_revoked"}'
    revoked_before = await metric(http, gateway, revoked)
    async with open_stream(http, gateway.url, watcher) as stream:
        assert (await api.revoke_api_key(created["key_id"])).status == 200
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (frame := await stream.next_frame(deadline - loop.time())) is not None:
            assert frame.comments == ["heartbeat"]  # until the key is found revoked
    assert await metric(http, gateway, revoked) == revoked_before + 1


async def test_sigterm_ends_open_streams_cleanly_and_at_once(
    http: aiohttp.ClientSession, stack: Stack, alice: ApiAccount
) -> None:
    process, url = stack.start_gateway("gateway-stream-sigterm")
    try:
        await asyncio.to_thread(process.wait_ready)
        async with (
            open_stream(http, url, alice) as first,
            open_stream(http, url, alice, params={}) as second,
        ):
            started = time.monotonic()
            stopping = asyncio.create_task(asyncio.to_thread(process.stop))
            for stream in (first, second):
                # The response ends (EOF after the last chunk), not a reset connection.
                while (frame := await stream.next_frame(5)) is not None:
                    assert frame.comments == ["heartbeat"]
            assert await stopping == 0, process.tail()
            # Well inside the drain's grace (SHUTDOWN_GRACE_S is 5 s here): not held by streams.
            assert time.monotonic() - started < 3
        tail = process.log_path.read_bytes()[process.log_start :].decode(errors="replace")
        assert "Traceback" not in tail, tail
    finally:
        await asyncio.to_thread(process.stop)
