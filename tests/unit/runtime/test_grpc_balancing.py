"""The gateway's channels spread calls over every address their target resolves to (in
Kubernetes: every pod behind a headless Service), on real gRPC servers over loopback."""

from __future__ import annotations

import secrets
from collections import Counter

from grpc_health.v1 import health_pb2

from services.runtime.grpc_client import open_channel
from services.runtime.grpc_server import GrpcServer

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_calls_are_spread_over_every_resolved_address() -> None:
    token = secrets.token_urlsafe(32)
    servers = [GrpcServer(0, host="127.0.0.1", auth_token=token) for _ in range(2)]
    for server, status in zip(servers, (SERVING, NOT_SERVING), strict=True):
        await server.start()
        await server.health.set("which", status)  # tells the answering server apart
    # Two addresses for one target, as DNS gives for a headless Service with two pods.
    target = "ipv4:" + ",".join(f"127.0.0.1:{server.port}" for server in servers)
    channel = open_channel(target, auth_token=token)
    try:
        await channel.channel_ready()
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        answers: Counter[int] = Counter()
        for _ in range(40):
            reply = await check(health_pb2.HealthCheckRequest(service="which"), timeout=5)
            answers[reply.status] += 1
    finally:
        await channel.close()
        for server in servers:
            await server.stop(0)
    assert answers[SERVING] >= 10 and answers[NOT_SERVING] >= 10, answers
