"""Optional mutual TLS on the internal gRPC connections.

When ``GRPC_TLS_CA``, ``GRPC_TLS_CERT`` and ``GRPC_TLS_KEY`` name PEM files, servers accept only
clients presenting a certificate signed by that CA, and clients accept only servers with such a
certificate (for the name they dialled). The bearer token of :mod:`services.runtime.grpc_auth`
stays required on top: TLS decides who may connect, the token who may call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import grpc

from services.runtime.config import ConfigError, env_str

TLS_SETTINGS: Final = ("GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY")


@dataclass(frozen=True, slots=True)
class GrpcTls:
    """The PEM contents, read once at start-up (a missing file fails the start, not a call)."""

    ca: bytes
    cert: bytes
    key: bytes = field(repr=False)

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(f"{name}: cannot read {path}: {err.strerror}") from None


def grpc_tls_from_env(env: Mapping[str, str] | None = None) -> GrpcTls | None:
    """The TLS material, or None when none of the three settings is set (plaintext)."""
    paths = {name: env_str(name, "", env) for name in TLS_SETTINGS}
    if not any(paths.values()):
        return None
    missing = [name for name, path in paths.items() if not path]
    if missing:
        # Half a TLS setup must not quietly fall back to plaintext.
        raise ConfigError(f"{', '.join(missing)} must be set too: TLS needs all of {TLS_SETTINGS}")
    ca, cert, key = (_read(name, path) for name, path in paths.items())
    return GrpcTls(ca=ca, cert=cert, key=key)
