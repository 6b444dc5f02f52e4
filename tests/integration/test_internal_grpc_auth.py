"""The internal gRPC services as a stranger on the host reaches them: render, keys, analytics and webhooks
refuse a call that lacks the deployment's token, or carries another one, before doing anything;
the right token works. Every internal listener is bound to loopback only."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2

from qrforge.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    keys_pb2,
    keys_pb2_grpc,
    render_pb2,
    render_pb2_grpc,
    webhooks_pb2,
    webhooks_pb2_grpc,
)
from tests.support.decoding import decode_single_qr
from tests.support.stack import ApiAccount, Stack

Metadata = tuple[tuple[str, str], ...]
# A real method of each service, called for the account under attack; returns what it answered.
Call = Callable[[grpc.aio.Channel, ApiAccount, Metadata], Awaitable[object]]

QR_PAYLOAD = "https://example.com/internal-auth"


async def create_key(channel: grpc.aio.Channel, victim: ApiAccount, metadata: Metadata) -> object:
    request = keys_pb2.CreateKeyRequest(
        account_id=victim.account_id,
        name="stranger",
        permissions=["read", "write"],
        creator_permissions=["read", "write"],
    )
    return await keys_pb2_grpc.KeysServiceStub(channel).CreateKey(
        request, metadata=metadata, timeout=10
    )


async def code_stats(channel: grpc.aio.Channel, victim: ApiAccount, metadata: Metadata) -> object:
    request = analytics_pb2.StatsQuery(account_id=victim.account_id)
    return await analytics_pb2_grpc.AnalyticsServiceStub(channel).GetCodeStats(
        request, metadata=metadata, timeout=10
    )


async def render_qr(channel: grpc.aio.Channel, _victim: ApiAccount, metadata: Metadata) -> object:
    request = render_pb2.RenderQRRequest(
        payload=QR_PAYLOAD, format="png", size=300, error_correction="M", quiet_zone=4
    )
    return await render_pb2_grpc.RenderServiceStub(channel).RenderQR(
        request, metadata=metadata, timeout=30
    )


async def list_webhooks(
    channel: grpc.aio.Channel, victim: ApiAccount, metadata: Metadata
) -> object:
    request = webhooks_pb2.ListWebhooksRequest(account_id=victim.account_id, limit=10)
    return await webhooks_pb2_grpc.WebhooksServiceStub(channel).ListWebhooks(
        request, metadata=metadata, timeout=10
    )


CALLS: dict[str, tuple[str, Call]] = {
    "keys.CreateKey": ("KEYS_ADDR", create_key),
    "analytics.GetCodeStats": ("ANALYTICS_ADDR", code_stats),
    "render.RenderQR": ("RENDER_ADDR", render_qr),
    "webhooks.ListWebhooks": ("WEBHOOKS_ADDR", list_webhooks),
}


def _bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


# What a caller without the deployment's token can send, given that token.
STRANGERS: dict[str, Callable[[str], Metadata]] = {
    "no credentials": lambda _token: (),
    "a wrong token": lambda _token: _bearer(secrets.token_urlsafe(32)),
    "the token without its scheme": lambda token: (("authorization", token),),
}


@pytest.fixture(scope="module")
def victim(stack: Stack) -> ApiAccount:
    return stack.create_account("grpc-auth-victim")


@pytest.fixture
async def channels(stack: Stack) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """Plain channels with nothing added: what anyone who reaches the ports can open."""
    opened = {var: grpc.aio.insecure_channel(stack.addresses[var]) for var, _ in CALLS.values()}
    try:
        yield opened
    finally:
        for channel in opened.values():
            await channel.close()


async def _key_names(channel: grpc.aio.Channel, stack: Stack, victim: ApiAccount) -> list[str]:
    listed = await keys_pb2_grpc.KeysServiceStub(channel).ListKeys(
        keys_pb2.ListKeysRequest(account_id=victim.account_id),
        metadata=_bearer(stack.grpc_auth_token),
        timeout=10,
    )
    return [key.name for key in listed.keys]


@pytest.mark.parametrize("stranger", STRANGERS)
@pytest.mark.parametrize("method", CALLS)
async def test_a_call_without_the_token_is_refused(
    stack: Stack,
    victim: ApiAccount,
    channels: dict[str, grpc.aio.Channel],
    method: str,
    stranger: str,
) -> None:
    addr_var, call = CALLS[method]
    keys_before = await _key_names(channels["KEYS_ADDR"], stack, victim)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(channels[addr_var], victim, STRANGERS[stranger](stack.grpc_auth_token))
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert stack.grpc_auth_token not in (refused.value.details() or "")
    # Refused before the handler ran: no key was created for the stranger.
    assert await _key_names(channels["KEYS_ADDR"], stack, victim) == keys_before


async def test_the_deployment_token_is_accepted(
    stack: Stack, victim: ApiAccount, channels: dict[str, grpc.aio.Channel]
) -> None:
    metadata = _bearer(stack.grpc_auth_token)
    created = await create_key(channels["KEYS_ADDR"], victim, metadata)
    assert isinstance(created, keys_pb2.CreateKeyResponse) and created.api_key
    assert created.key.name in await _key_names(channels["KEYS_ADDR"], stack, victim)
    stats = await code_stats(channels["ANALYTICS_ADDR"], victim, metadata)
    assert isinstance(stats, analytics_pb2.CodeStats) and stats.total_scans == 0
    image = await render_qr(channels["RENDER_ADDR"], victim, metadata)
    assert isinstance(image, render_pb2.RenderedImage)
    assert decode_single_qr(image.data) == QR_PAYLOAD
    hooks = await list_webhooks(channels["WEBHOOKS_ADDR"], victim, metadata)
    assert isinstance(hooks, webhooks_pb2.ListWebhooksResponse) and hooks.total == 0


@pytest.mark.parametrize(
    "addr_var", ["RENDER_ADDR", "KEYS_ADDR", "ANALYTICS_ADDR", "WEBHOOKS_ADDR"]
)
async def test_health_answers_without_credentials(
    addr_var: str, channels: dict[str, grpc.aio.Channel]
) -> None:
    """Probes cannot send metadata, and SERVING/NOT_SERVING is all it tells."""
    check = channels[addr_var].unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    reply = await check(health_pb2.HealthCheckRequest(), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def _non_loopback_address() -> str | None:
    """This host's address on its default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: any address off this host
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_internal_listeners_are_not_reachable_from_other_hosts(stack: Stack) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to try")
    ports = {
        var: int(stack.addresses[var].rpartition(":")[2])
        for var in ("RENDER_ADDR", "KEYS_ADDR", "ANALYTICS_ADDR")
    }
    ports |= {f"{process.name} admin": process.admin_port for process in stack.processes}
    reachable = []
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex((address, port)) == 0:
                reachable.append(name)
    assert reachable == [], f"listening on {address}: {reachable}"
