"""Keys service settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from services.runtime.config import env_float, env_int, env_secret, env_str
from services.runtime.grpc_auth import grpc_auth_token_from_env
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env

DEV_KEY_PEPPER: Final = "qrforge-dev-key-pepper-do-not-use-in-production"


@dataclass(frozen=True, slots=True)
class KeysSettings:
    port: int
    admin_port: int
    database_url: str
    amqp_url: str
    key_pepper: bytes = field(repr=False)
    # Empty only for the admin commands, which work on Postgres and never serve gRPC.
    grpc_auth_token: str = field(repr=False)
    grpc_host: str = "127.0.0.1"
    admin_host: str = "127.0.0.1"
    grpc_tls: GrpcTls | None = None
    log_level: str = "INFO"
    shutdown_grace_s: float = 10.0
    last_used_flush_s: float = 5.0
    publish_timeout_s: float = 2.0

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, serving: bool = True
    ) -> KeysSettings:
        return cls(
            port=env_int("KEYS_PORT", 7052, env),
            admin_port=env_int("KEYS_ADMIN_PORT", 9052, env),
            database_url=env_str(
                "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qrforge", env
            ),
            amqp_url=env_str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", env),
            # Changing the pepper invalidates every stored key: it is part of the key material.
            key_pepper=env_secret("KEY_PEPPER", DEV_KEY_PEPPER, env).encode(),
            grpc_auth_token=grpc_auth_token_from_env(env) if serving else "",
            grpc_host=env_str("GRPC_HOST", "127.0.0.1", env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            grpc_tls=grpc_tls_from_env(env) if serving else None,
            log_level=env_str("LOG_LEVEL", "INFO", env),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
            last_used_flush_s=env_float("KEYS_LAST_USED_FLUSH_S", 5.0, env),
            publish_timeout_s=env_float("KEYS_PUBLISH_TIMEOUT_S", 2.0, env),
        )
