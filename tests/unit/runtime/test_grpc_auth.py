"""The internal-token check on a real gRPC server over loopback: a call reaches its handler only
with ``authorization: Bearer <token>``; clients made by ``open_channel`` always send it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from services.runtime.config import ConfigError
from services.runtime.errors import ApiError
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV, grpc_auth_token_from_env
from services.runtime.grpc_client import call_unary, open_channel
from services.runtime.grpc_server import GrpcServer
from services.runtime.metrics import registry

TOKEN = secrets.token_urlsafe(32)
ECHO = "/test.Echo/Echo"


class Echo:
    def __init__(self) -> None:
        self.calls = 0

    async def echo(self, request: bytes, _context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        self.calls += 1
        return request


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, str]]:
    """A server with the token check and one raw-bytes method; yields it and its address."""
    servicer = Echo()
    server = GrpcServer(0, host="127.0.0.1", auth_token=TOKEN)
    server.server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(servicer.echo)}
            ),
        )
    )
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


def _raw(data: bytes) -> bytes:
    return data


def _call(
    channel: grpc.aio.Channel, method: str = ECHO
) -> grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]:
    return channel.unary_unary(method, request_serializer=_raw, response_deserializer=_raw)


def _refused() -> float:
    return registry.get_sample_value("qrforge_grpc_server_unauthenticated_total") or 0.0


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", f"Bearer {secrets.token_urlsafe(32)}"),),
        (("authorization", TOKEN),),
        (("authorization", f"bearer {TOKEN}"),),
        (("authorization", f"Bearer {TOKEN[:-1]}"),),
        (("authorization", f"Bearer {TOKEN}"), ("authorization", "Bearer other")),
    ],
    ids=["none", "wrong", "no-scheme", "lowercase-scheme", "truncated", "two-values"],
)
async def test_calls_without_the_token_never_reach_the_handler(
    echo: tuple[Echo, str], metadata: tuple[tuple[str, str], ...]
) -> None:
    servicer, address = echo
    refused_before = _refused()
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(channel)(b"hi", metadata=metadata, timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert TOKEN not in (caught.value.details() or "")
    assert servicer.calls == 0
    assert _refused() == refused_before + 1


async def test_unknown_methods_are_refused_alike(echo: tuple[Echo, str]) -> None:
    """A stranger cannot tell which methods exist."""
    _, address = echo
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(channel, "/test.Echo/Nope")(b"hi", timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_open_channel_presents_the_token(echo: tuple[Echo, str]) -> None:
    servicer, address = echo
    channel = open_channel(address, auth_token=TOKEN)
    try:
        # Metadata of the call's own (the request id) travels beside the token.
        reply = await _call(channel)(b"hi", metadata=(("x-request-id", "req-1"),), timeout=5)
    finally:
        await channel.close()
    assert reply == b"hi"
    assert servicer.calls == 1


async def test_a_channel_with_another_token_is_refused(echo: tuple[Echo, str]) -> None:
    servicer, address = echo
    channel = open_channel(address, auth_token=secrets.token_urlsafe(32))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(channel)(b"hi", timeout=5)
    finally:
        await channel.close()
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert servicer.calls == 0


async def test_health_stays_open_for_probes(echo: tuple[Echo, str]) -> None:
    _, address = echo
    async with grpc.aio.insecure_channel(address) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        reply = await check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_the_token_is_required_in_every_environment() -> None:
    for environment in ("development", "production"):
        with pytest.raises(ConfigError, match=GRPC_AUTH_TOKEN_ENV):
            grpc_auth_token_from_env({"QRFORGE_ENV": environment})
    assert grpc_auth_token_from_env({GRPC_AUTH_TOKEN_ENV: TOKEN}) == TOKEN


@pytest.mark.parametrize("token", ["short", "a" * 31, "x" * 20 + " " + "y" * 20, "é" * 40])
def test_unusable_tokens_are_refused_without_being_echoed(token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        grpc_auth_token_from_env({GRPC_AUTH_TOKEN_ENV: token})
    assert token not in str(caught.value)


def test_a_server_cannot_start_without_a_token() -> None:
    with pytest.raises(ConfigError):
        GrpcServer(0, host="127.0.0.1", auth_token="")


async def test_a_caller_with_the_wrong_token_reports_a_backend_unavailable(
    echo: tuple[Echo, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway deployed with a stale token answers 503 and tells the operator why, rather
    than a bare 500 INTERNAL_ERROR."""
    _, address = echo
    channel = open_channel(address, auth_token=secrets.token_urlsafe(32))
    try:
        with pytest.raises(ApiError) as caught:
            await call_unary(_call(channel), b"hi", timeout=5, name="Echo")
    finally:
        await channel.close()
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    assert "refused this service's gRPC credentials" in caplog.text
