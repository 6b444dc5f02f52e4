"""Analytics service settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from services.runtime.config import ConfigError, env_float, env_int, env_secret, env_str
from services.runtime.grpc_auth import grpc_auth_token_from_env
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env

ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_CLICKHOUSE_URL: Final = f"chdb://{ROOT / 'var' / 'clickhouse'}"
DEV_VISITOR_SALT: Final = "qrforge-dev-visitor-salt-do-not-use-in-production"


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    port: int
    admin_port: int
    amqp_url: str
    clickhouse_url: str
    visitor_salt: bytes = field(repr=False)
    grpc_auth_token: str = field(repr=False)
    grpc_host: str = "127.0.0.1"
    admin_host: str = "127.0.0.1"
    grpc_tls: GrpcTls | None = None
    geoip_city_db: str = ""
    # ClickHouse spends about half the CPU per row on 10k-row inserts that it does on 5k ones
    # (fewer parts to write and merge); the age bound keeps small batches quick at low rates.
    batch_max_events: int = 10_000
    batch_max_wait_s: float = 0.2
    scan_retention_days: int = 395
    query_workers: int = 2
    lag_poll_s: float = 5.0
    insert_retry_max_s: float = 5.0
    log_level: str = "INFO"
    shutdown_grace_s: float = 10.0

    def __post_init__(self) -> None:
        if self.batch_max_events < 1:
            raise ConfigError("ANALYTICS_BATCH_MAX_EVENTS must be at least 1")
        if self.batch_max_wait_s <= 0:
            raise ConfigError("ANALYTICS_BATCH_MAX_WAIT_S must be positive")
        if self.scan_retention_days < 0:
            raise ConfigError("SCAN_RETENTION_DAYS must be 0 (keep forever) or more")
        if self.query_workers < 1:
            raise ConfigError("ANALYTICS_QUERY_WORKERS must be at least 1")

    @property
    def prefetch_count(self) -> int:
        """Messages in flight: at least one batch even at one event per message, so a batch
        can always fill while the previous one is being inserted."""
        return self.batch_max_events

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnalyticsSettings:
        return cls(
            port=env_int("ANALYTICS_PORT", 7053, env),
            admin_port=env_int("ANALYTICS_ADMIN_PORT", 9053, env),
            amqp_url=env_str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", env),
            clickhouse_url=env_str("CLICKHOUSE_URL", DEFAULT_CLICKHOUSE_URL, env),
            # Changing the salt changes every visitor hash: uniques across the change double.
            visitor_salt=env_secret("VISITOR_SALT", DEV_VISITOR_SALT, env).encode(),
            grpc_auth_token=grpc_auth_token_from_env(env),
            grpc_host=env_str("GRPC_HOST", "127.0.0.1", env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            grpc_tls=grpc_tls_from_env(env),
            geoip_city_db=env_str("GEOIP_CITY_DB", "", env),
            batch_max_events=env_int("ANALYTICS_BATCH_MAX_EVENTS", 10_000, env),
            batch_max_wait_s=env_float("ANALYTICS_BATCH_MAX_WAIT_S", 0.2, env),
            scan_retention_days=env_int("SCAN_RETENTION_DAYS", 395, env),
            query_workers=env_int("ANALYTICS_QUERY_WORKERS", 2, env),
            lag_poll_s=env_float("ANALYTICS_LAG_POLL_S", 5.0, env),
            insert_retry_max_s=env_float("ANALYTICS_INSERT_RETRY_MAX_S", 5.0, env),
            log_level=env_str("LOG_LEVEL", "INFO", env),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
        )
