"""Render service settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.runtime.config import env_float, env_int, env_str
from services.runtime.grpc_auth import grpc_auth_token_from_env
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env


@dataclass(frozen=True, slots=True)
class RenderSettings:
    port: int
    admin_port: int
    workers: int
    workers_per_account: int
    shutdown_grace_s: float
    log_level: str
    grpc_host: str
    admin_host: str
    grpc_auth_token: str = field(repr=False)
    grpc_tls: GrpcTls | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RenderSettings:
        """Every value from ``env`` (the process environment by default)."""
        workers = env_int("RENDER_WORKERS", os.cpu_count() or 1, env)
        return cls(
            port=env_int("RENDER_PORT", 7051, env),
            admin_port=env_int("RENDER_ADMIN_PORT", 9051, env),
            # One worker per core: rendering is CPU-bound and the gRPC loop must stay free.
            workers=workers,
            # The rest stay free for other accounts: a heavy batch slows only its own account.
            workers_per_account=min(
                workers, max(1, env_int("RENDER_WORKERS_PER_ACCOUNT", (workers + 1) // 2, env))
            ),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
            log_level=env_str("LOG_LEVEL", "INFO", env),
            grpc_host=env_str("GRPC_HOST", "127.0.0.1", env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            grpc_auth_token=grpc_auth_token_from_env(env),
            grpc_tls=grpc_tls_from_env(env),
        )
