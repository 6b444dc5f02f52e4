"""How the services start and stop, as real processes: the gateway and keys start while
RabbitMQ is unreachable (the gateway serving but not ready until it connects), and SIGTERM
stops gateway, keys and render cleanly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika
import aiohttp

from services.runtime.topics import CATALOG_EXCHANGE, CODE_UPDATED
from tests.support.backing import AMQP_HOST
from tests.support.decoding import decode_single_qr
from tests.support.polling import eventually
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import Stack, unlimited_account
from tests.support.tcp_proxy import TcpProxy

JSON = {"Content-Type": "application/json"}
# Long enough that only a key.revoked event, never the cache's expiry, can evict within the
# polling deadline below.
LONG_AUTH_CACHE_TTL_S = "300"
EVICTION_DEADLINE_S = 10.0


async def readyz(http: aiohttp.ClientSession, process: ServiceProcess) -> tuple[int, Any]:
    try:
        async with http.get(f"http://127.0.0.1:{process.admin_port}/readyz") as resp:
            return resp.status, await resp.json()
    except aiohttp.ClientConnectionError:
        return 0, None


async def generate_png(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], content: str
) -> bytes:
    async with http.post(
        f"{url}/v1/qrcodes/generate",
        json={"type": "text", "content": content},
        headers={**headers, **JSON, "Accept": "image/png"},
    ) as resp:
        body = await resp.read()
        assert resp.status == 200, (resp.status, body[:300])
        assert resp.headers["Content-Type"] == "image/png"
        return body


async def test_gateway_starts_without_the_broker_and_connects_when_it_is_back(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    # An account of its own: the shared one's rate limit and code quota belong to other tests.
    account = unlimited_account(stack, "lifecycle-no-broker")
    host, _, port = AMQP_HOST.partition(":")
    proxy = TcpProxy(host, int(port))
    proxy.refusing = True  # the broker is unreachable until restore()
    proxy_port = await proxy.start()
    vhost = stack.amqp_url.rsplit("/", 1)[1]
    gateway, url = stack.start_gateway(
        "gateway-no-broker",
        {
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{proxy_port}/{vhost}",
            "AUTH_CACHE_TTL_S": LONG_AUTH_CACHE_TTL_S,
        },
    )
    try:
        # Up, serving, and not ready because of the broker alone.
        async def not_ready() -> Any:
            status, body = await readyz(http, gateway)
            assert gateway.process is not None and gateway.process.poll() is None, gateway.tail()
            return body if status == 503 else None

        body = await eventually(not_ready, 30, "the gateway's admin port answering")
        assert body == {"status": "unavailable", "failed": {"rabbitmq": "NotConnectedError"}}

        png = await generate_png(http, url, account.headers, "served without a broker")
        assert decode_single_qr(png) == "served without a broker"

        # A catalog change while the broker is away stands; its event fails fast, counted.
        async with http.post(
            f"{url}/v1/qrcodes/dynamic",
            json={"name": "outage", "destination_url": "https://example.com/a"},
            headers=account.headers,
        ) as resp:
            assert resp.status == 201
            qr_id = (await resp.json())["data"]["qr_id"]
        async with http.put(
            f"{url}/v1/qrcodes/{qr_id}/destination",
            json={"destination_url": "https://example.com/b"},
            headers=account.headers,
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["data"]["destination_url"] == "https://example.com/b"
        async with http.get(f"http://127.0.0.1:{gateway.admin_port}/metrics") as resp:
            metrics = await resp.text()
        assert (
            'qrforge_gateway_catalog_events_total{event="code.updated",outcome="failed"} 1.0'
            in metrics
        )

        # A key this gateway caches, then revoked while it cannot hear the event.
        async with http.post(
            f"{stack.gateway_url}/v1/api-keys", json={"name": "missed"}, headers=account.headers
        ) as resp:
            assert resp.status == 201
            missed = (await resp.json())["data"]
        missed_headers = {"Authorization": f"Bearer {missed['api_key']}"}
        async with http.get(f"{url}/v1/account/usage", headers=missed_headers) as resp:
            assert resp.status == 200  # now cached by this gateway, for 300 s
        async with http.delete(
            f"{stack.gateway_url}/v1/api-keys/{missed['key_id']}", headers=account.headers
        ) as resp:
            assert resp.status == 200

        proxy.restore()

        async def ready() -> bool:
            return (await readyz(http, gateway))[0] == 200

        await eventually(ready, 30, "the gateway ready once the broker is reachable")
        # Connected, it forgot what it cached meanwhile: the revocation it missed holds.
        async with http.get(f"{url}/v1/account/usage", headers=missed_headers) as resp:
            assert resp.status == 401

        # Catalog events publish now.
        connection = await aio_pika.connect_robust(stack.amqp_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                CATALOG_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, routing_key=CODE_UPDATED)
            async with http.put(
                f"{url}/v1/qrcodes/{qr_id}/destination",
                json={"destination_url": "https://example.com/c"},
                headers=account.headers,
            ) as resp:
                assert resp.status == 200
            message = await eventually(lambda: queue.get(fail=False), 5, "a code.updated event")
            assert json.loads(message.body)["qr_id"] == qr_id
        finally:
            await connection.close()

        # A key this gateway has cached is evicted by the revocation event, not by the TTL.
        async with http.post(
            f"{stack.gateway_url}/v1/api-keys", json={"name": "revoke me"}, headers=account.headers
        ) as resp:
            assert resp.status == 201
            created = (await resp.json())["data"]
        key_headers = {"Authorization": f"Bearer {created['api_key']}"}
        async with http.get(f"{url}/v1/account/usage", headers=key_headers) as resp:
            assert resp.status == 200  # now cached by this gateway
        async with http.delete(
            f"{stack.gateway_url}/v1/api-keys/{created['key_id']}", headers=account.headers
        ) as resp:
            assert resp.status == 200

        async def refused() -> bool:
            async with http.get(f"{url}/v1/account/usage", headers=key_headers) as resp:
                return resp.status == 401

        await eventually(refused, EVICTION_DEADLINE_S, "the revoked key refused by this gateway")
        # In a thread: the proxy it closes its broker connection through runs on this loop.
        assert await asyncio.to_thread(gateway.stop) == 0, gateway.tail()
    finally:
        await asyncio.to_thread(gateway.stop)
        await proxy.close()


async def test_sigterm_stops_render_keys_and_gateway_cleanly(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    account = unlimited_account(stack, "lifecycle-sigterm")
    render_port, render_admin = free_port(), free_port()
    render = stack.start(
        "render-sigterm",
        "services.render",
        {"RENDER_PORT": str(render_port), "RENDER_ADMIN_PORT": str(render_admin)},
        render_admin,
    )
    # Keys with nothing listening where the broker should be: it starts and is ready anyway.
    keys_port, keys_admin = free_port(), free_port()
    keys = stack.start(
        "keys-sigterm",
        "services.keys",
        {
            "KEYS_PORT": str(keys_port),
            "KEYS_ADMIN_PORT": str(keys_admin),
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        },
        keys_admin,
    )
    gateway, url = stack.start_gateway(
        "gateway-sigterm",
        {"RENDER_ADDR": f"127.0.0.1:{render_port}", "KEYS_ADDR": f"127.0.0.1:{keys_port}"},
    )
    try:
        for process in (render, keys, gateway):
            process.wait_ready()
        status, body = await readyz(http, keys)
        assert status == 200 and body["dependencies"] == {"rabbitmq": "down"}

        png = await generate_png(http, url, account.headers, "through the new render and keys")
        assert decode_single_qr(png) == "through the new render and keys"

        for process in (gateway, keys, render):
            assert process.stop() == 0, process.tail()
            tail = process.log_path.read_bytes()[process.log_start :].decode(errors="replace")
            assert "Traceback" not in tail, tail
    finally:
        for process in (gateway, keys, render):
            process.stop()
