"""Webhooks service settings, read once from the environment."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from services.runtime.config import (
    ConfigError,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
)
from services.runtime.grpc_auth import grpc_auth_token_from_env
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env

DEV_ENCRYPTION_KEY: Final = base64.b64encode(
    hashlib.sha256(b"qrforge-dev-webhook-key-do-not-use-in-production").digest()
).decode()
# API.md: about 5 s, 30 s, 2 min, 10 min, 1 h, then every 3 h, for 24 h.
DEFAULT_RETRY_SCHEDULE_S: Final = (5.0, 30.0, 120.0, 600.0, 3600.0)
DAY_S: Final = 86_400.0


def _encryption_key(env: Mapping[str, str] | None) -> bytes:
    raw = env_secret("WEBHOOK_ENCRYPTION_KEY", DEV_ENCRYPTION_KEY, env)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("WEBHOOK_ENCRYPTION_KEY must be base64") from None
    if len(key) != 32:
        raise ConfigError("WEBHOOK_ENCRYPTION_KEY must be 32 bytes, base64-encoded")
    return key


def _schedule(env: Mapping[str, str] | None) -> tuple[float, ...]:
    parts = env_list("WEBHOOK_RETRY_SCHEDULE_S", env=env)
    if not parts:
        return DEFAULT_RETRY_SCHEDULE_S
    try:
        delays = tuple(float(part) for part in parts)
    except ValueError:
        raise ConfigError("WEBHOOK_RETRY_SCHEDULE_S must be comma-separated seconds") from None
    if any(delay <= 0 for delay in delays):
        raise ConfigError("WEBHOOK_RETRY_SCHEDULE_S delays must be positive")
    return delays


@dataclass(frozen=True, slots=True)
class WebhooksSettings:
    port: int
    admin_port: int
    database_url: str
    amqp_url: str
    encryption_key: bytes = field(repr=False)
    grpc_auth_token: str = field(repr=False)
    grpc_host: str = "127.0.0.1"
    admin_host: str = "127.0.0.1"
    grpc_tls: GrpcTls | None = None
    # Development and tests only: hosts or CIDRs deliveries may reach though not public (plain
    # http is then accepted for them too). Same format as LOGO_FETCH_ALLOWLIST.
    allowlist: tuple[str, ...] = ()
    # Test-only: a CA bundle to trust instead of the system store.
    ca_file: str | None = None
    request_timeout_s: float = 10.0
    max_response_bytes: int = 64 * 1024
    per_endpoint_concurrency: int = 16
    max_in_flight: int = 512
    retry_schedule_s: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE_S
    retry_every_s: float = 3 * 3600.0
    retry_for_s: float = DAY_S
    disable_after_s: float = 3 * DAY_S
    # A claimed delivery is retaken by any replica after this (its process died mid-send).
    lease_s: float = 60.0
    poll_s: float = 1.0
    endpoint_cache_s: float = 5.0
    delivery_log_days: int = 30
    prefetch_count: int = 64
    log_level: str = "INFO"
    shutdown_grace_s: float = 10.0

    def __post_init__(self) -> None:
        if self.lease_s <= self.request_timeout_s:
            raise ConfigError("WEBHOOK_LEASE_S must exceed WEBHOOK_TIMEOUT_S")
        if self.per_endpoint_concurrency < 1 or self.max_in_flight < 1:
            raise ConfigError("webhook concurrency limits must be at least 1")
        if self.poll_s <= 0 or self.retry_every_s <= 0:
            raise ConfigError("WEBHOOK_POLL_S and WEBHOOK_RETRY_EVERY_S must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhooksSettings:
        return cls(
            port=env_int("WEBHOOKS_PORT", 7054, env),
            admin_port=env_int("WEBHOOKS_ADMIN_PORT", 9054, env),
            database_url=env_str(
                "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qrforge", env
            ),
            amqp_url=env_str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", env),
            # Changing the key makes every stored secret unreadable: rotate by re-creating.
            encryption_key=_encryption_key(env),
            grpc_auth_token=grpc_auth_token_from_env(env),
            grpc_host=env_str("GRPC_HOST", "127.0.0.1", env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            grpc_tls=grpc_tls_from_env(env),
            allowlist=env_list("WEBHOOK_ALLOWLIST", env=env),
            ca_file=env_str("WEBHOOK_CA_FILE", "", env) or None,
            request_timeout_s=env_float("WEBHOOK_TIMEOUT_S", 10.0, env),
            per_endpoint_concurrency=env_int("WEBHOOK_ENDPOINT_CONCURRENCY", 16, env),
            max_in_flight=env_int("WEBHOOK_MAX_IN_FLIGHT", 512, env),
            retry_schedule_s=_schedule(env),
            retry_every_s=env_float("WEBHOOK_RETRY_EVERY_S", 3 * 3600.0, env),
            retry_for_s=env_float("WEBHOOK_RETRY_FOR_S", DAY_S, env),
            disable_after_s=env_float("WEBHOOK_DISABLE_AFTER_S", 3 * DAY_S, env),
            lease_s=env_float("WEBHOOK_LEASE_S", 60.0, env),
            poll_s=env_float("WEBHOOK_POLL_S", 1.0, env),
            endpoint_cache_s=env_float("WEBHOOK_ENDPOINT_CACHE_S", 5.0, env),
            delivery_log_days=env_int("WEBHOOK_DELIVERY_LOG_DAYS", 30, env),
            prefetch_count=env_int("WEBHOOK_PREFETCH", 64, env),
            log_level=env_str("LOG_LEVEL", "INFO", env),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
        )
