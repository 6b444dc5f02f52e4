"""Mutual TLS settings and the local certificates: all-or-nothing settings, idempotent issuing,
and a real loopback server that only TLS clients with the CA's certificate reach."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from services.runtime.config import ConfigError
from services.runtime.grpc_client import open_channel
from services.runtime.grpc_server import GrpcServer
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env
from services.runtime.tls_certs import LEAF_DAYS, TlsFiles, ensure_local_certificates

TOKEN = secrets.token_urlsafe(32)


def _env(files: TlsFiles) -> dict[str, str]:
    return {
        "GRPC_TLS_CA": str(files.ca),
        "GRPC_TLS_CERT": str(files.cert),
        "GRPC_TLS_KEY": str(files.key),
    }


def test_no_tls_settings_mean_plaintext() -> None:
    assert grpc_tls_from_env({}) is None


def test_half_a_tls_setup_is_refused(tmp_path: Path) -> None:
    env = _env(ensure_local_certificates(tmp_path))
    del env["GRPC_TLS_KEY"]
    with pytest.raises(ConfigError, match="GRPC_TLS_KEY"):
        grpc_tls_from_env(env)


def test_an_unreadable_file_fails_at_start(tmp_path: Path) -> None:
    env = _env(ensure_local_certificates(tmp_path)) | {"GRPC_TLS_CA": str(tmp_path / "nope.pem")}
    with pytest.raises(ConfigError, match="GRPC_TLS_CA"):
        grpc_tls_from_env(env)


def test_the_private_key_stays_out_of_reprs(tmp_path: Path) -> None:
    tls = grpc_tls_from_env(_env(ensure_local_certificates(tmp_path)))
    assert isinstance(tls, GrpcTls)
    assert b"PRIVATE KEY" in tls.key
    assert "PRIVATE KEY" not in repr(tls)


def test_certificates_are_kept_while_valid_and_renewed_near_expiry(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    files = ensure_local_certificates(tmp_path, now)
    first = files.cert.read_bytes(), files.ca.read_bytes()
    assert files.key.stat().st_mode & 0o777 == 0o600
    ensure_local_certificates(tmp_path, now + dt.timedelta(days=1))
    assert (files.cert.read_bytes(), files.ca.read_bytes()) == first
    ensure_local_certificates(tmp_path, now + dt.timedelta(days=LEAF_DAYS - 1))
    assert files.cert.read_bytes() != first[0]
    files.key.write_text("broken")
    ensure_local_certificates(tmp_path)
    assert b"PRIVATE KEY" in files.key.read_bytes()


async def _health(channel: grpc.aio.Channel) -> int:
    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    reply = await check(health_pb2.HealthCheckRequest(), timeout=5)
    return int(reply.status)


async def test_only_tls_clients_with_the_ca_certificate_connect(tmp_path: Path) -> None:
    tls = grpc_tls_from_env(_env(ensure_local_certificates(tmp_path)))
    server = GrpcServer(0, host="127.0.0.1", auth_token=TOKEN, tls=tls)
    await server.start()
    address = f"127.0.0.1:{server.port}"
    try:
        trusted = open_channel(address, auth_token=TOKEN, tls=tls)
        plaintext = open_channel(address, auth_token=TOKEN)
        try:
            assert await _health(trusted) == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _health(plaintext)
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        finally:
            await trusted.close()
            await plaintext.close()
    finally:
        await server.stop(0)
