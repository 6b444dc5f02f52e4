"""Mutual TLS on the internal gRPC port, against a real render process started the way
``make run`` starts it (certificates from ``services.runtime.tls_certs``): only a client with a
certificate from the deployment's CA gets through the handshake, and it still needs the token."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme

from qrforge.v1 import render_pb2, render_pb2_grpc
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV
from services.runtime.tls_certs import TlsFiles, ensure_local_certificates
from tests.support.decoding import decode_single_qr
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import Stack, gateway_stack

PAYLOAD = "https://example.com/mtls"


@dataclass(frozen=True)
class TlsRender:
    address: str
    token: str
    files: TlsFiles

    def ours(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.files.ca.read_bytes(),
            private_key=self.files.key.read_bytes(),
            certificate_chain=self.files.cert.read_bytes(),
        )


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRender]:
    files = ensure_local_certificates(tmp_path_factory.mktemp("tls"))
    port, admin_port = free_port(), free_port()
    token = secrets.token_urlsafe(32)
    env = {
        "RENDER_PORT": str(port),
        "RENDER_ADMIN_PORT": str(admin_port),
        "RENDER_WORKERS": "1",
        GRPC_AUTH_TOKEN_ENV: token,
        "GRPC_TLS_CA": str(files.ca),
        "GRPC_TLS_CERT": str(files.cert),
        "GRPC_TLS_KEY": str(files.key),
    }
    process = ServiceProcess("render-mtls", "services.render", env, admin_port)
    process.start()
    try:
        process.wait_ready()
        yield TlsRender(f"127.0.0.1:{port}", token, files)
    finally:
        process.stop()


@pytest.fixture
async def stranger_channels(render: TlsRender) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """What someone without the deployment's certificate can open: plaintext, TLS without a
    client certificate, and TLS with a certificate from another CA (the server is trusted)."""
    other_ca = trustme.CA()
    foreign = other_ca.issue_cert("localhost", "127.0.0.1")
    ca = render.files.ca.read_bytes()
    channels = {
        "plaintext": grpc.aio.insecure_channel(render.address),
        "no client certificate": grpc.aio.secure_channel(
            render.address, grpc.ssl_channel_credentials(root_certificates=ca)
        ),
        "a certificate from another CA": grpc.aio.secure_channel(
            render.address,
            grpc.ssl_channel_credentials(
                root_certificates=ca,
                private_key=foreign.private_key_pem.bytes(),
                certificate_chain=foreign.cert_chain_pems[0].bytes(),
            ),
        ),
    }
    try:
        yield channels
    finally:
        for channel in channels.values():
            await channel.close()


async def _render(channel: grpc.aio.Channel, token: str) -> render_pb2.RenderedImage:
    request = render_pb2.RenderQRRequest(
        payload=PAYLOAD, format="png", size=300, error_correction="M", quiet_zone=4
    )
    return await render_pb2_grpc.RenderServiceStub(channel).RenderQR(
        request, metadata=(("authorization", f"Bearer {token}"),), timeout=10
    )


@pytest.mark.parametrize(
    "stranger", ["plaintext", "no client certificate", "a certificate from another CA"]
)
async def test_without_the_deployment_certificate_the_handshake_fails(
    render: TlsRender, stranger_channels: dict[str, grpc.aio.Channel], stranger: str
) -> None:
    # The same call over TLS with the deployment's certificate goes through...
    async with grpc.aio.secure_channel(render.address, render.ours()) as channel:
        assert decode_single_qr((await _render(channel, render.token)).data) == PAYLOAD
    # ...but without it, even with the right token, the connection itself is refused.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _render(stranger_channels[stranger], render.token)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_the_deployment_certificate_still_needs_the_token(render: TlsRender) -> None:
    async with grpc.aio.secure_channel(render.address, render.ours()) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _render(channel, secrets.token_urlsafe(32))
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        image = await _render(channel, render.token)
    assert decode_single_qr(image.data) == PAYLOAD


def test_the_gateway_calls_render_and_keys_over_mutual_tls(tmp_path: Path) -> None:
    """The whole path as ``make run`` sets it up: every service with the same TLS settings."""
    files = ensure_local_certificates(tmp_path / "tls")
    tls_env = {
        "GRPC_TLS_CA": str(files.ca),
        "GRPC_TLS_CERT": str(files.cert),
        "GRPC_TLS_KEY": str(files.key),
    }
    with gateway_stack("qrforge_mtls_test", tls_env) as stack:
        account = stack.create_account("mtls")
        request = urllib.request.Request(
            f"{stack.gateway_url}/v1/qrcodes/generate",
            data=json.dumps({"type": "text", "content": PAYLOAD}).encode(),
            headers={**account.headers, "Content-Type": "application/json", "Accept": "image/png"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert decode_single_qr(response.read()) == PAYLOAD
        # The services really serve TLS only: a plaintext caller with the token gets nowhere.
        channel_check = asyncio.run(_plaintext_render(stack.addresses["RENDER_ADDR"], stack))
        assert channel_check is grpc.StatusCode.UNAVAILABLE


async def _plaintext_render(address: str, stack: Stack) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            await _render(channel, stack.grpc_auth_token)
        except grpc.aio.AioRpcError as err:
            return err.code()
    return grpc.StatusCode.OK
