"""Gateway settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from services.runtime.client_ip import IPNetwork, parse_networks
from services.runtime.config import ConfigError, env_float, env_int, env_list, env_str
from services.runtime.grpc_auth import grpc_auth_token_from_env
from services.runtime.grpc_tls import GrpcTls, grpc_tls_from_env
from services.runtime.http_server import HttpLimits
from services.runtime.short_links import ShortDomains

DEFAULT_CONSOLE_DIR: Final = Path(__file__).resolve().parents[2] / "console" / "dist"
_Number = TypeVar("_Number", int, float)


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    port: int
    admin_port: int
    database_url: str
    amqp_url: str
    redis_url: str | None
    render_addr: str
    keys_addr: str
    analytics_addr: str
    webhooks_addr: str
    public_base_url: str
    redirect_base_url: str
    auth_cache_ttl_s: float
    rpc_timeout_s: float
    render_timeout_s: float
    shutdown_grace_s: float
    logo_fetch_allowlist: tuple[str, ...]
    logo_fetch_ca_file: str | None
    public_image_cache_bytes: int
    public_image_requests_per_min: int
    trusted_proxies: tuple[IPNetwork, ...]
    auth_failures_per_min: int
    log_level: str
    http_limits: HttpLimits
    admin_host: str
    console_dir: Path
    short_domains: ShortDomains
    grpc_auth_token: str = field(repr=False)
    grpc_tls: GrpcTls | None = None
    stream_heartbeat_s: float = 15.0
    stream_max_per_account: int = 10
    stream_queue_events: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Every value from ``env`` (the process environment by default)."""
        port = env_int("GATEWAY_PORT", 8080, env)
        redis_url = env_str("REDIS_URL", "", env)
        redirect_base_url = env_str("REDIRECT_BASE_URL", "http://127.0.0.1:8081", env).rstrip("/")
        return cls(
            port=port,
            admin_port=env_int("GATEWAY_ADMIN_PORT", 9080, env),
            database_url=env_str(
                "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qrforge", env
            ),
            amqp_url=env_str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", env),
            redis_url=redis_url or None,
            render_addr=env_str("RENDER_ADDR", "127.0.0.1:7051", env),
            keys_addr=env_str("KEYS_ADDR", "127.0.0.1:7052", env),
            analytics_addr=env_str("ANALYTICS_ADDR", "127.0.0.1:7053", env),
            webhooks_addr=env_str("WEBHOOKS_ADDR", "127.0.0.1:7054", env),
            public_base_url=env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}", env).rstrip("/"),
            redirect_base_url=redirect_base_url,
            # Revocations evict at once through the broker; the TTL bounds staleness if an
            # event is ever missed.
            auth_cache_ttl_s=env_float("AUTH_CACHE_TTL_S", 10.0, env),
            rpc_timeout_s=env_float("RPC_TIMEOUT_S", 2.0, env),
            render_timeout_s=env_float("RENDER_TIMEOUT_S", 10.0, env),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
            # Test-only: hosts/CIDRs that logo_url may reach although they are private.
            logo_fetch_allowlist=env_list("LOGO_FETCH_ALLOWLIST", env=env),
            # Test-only: a CA bundle to trust instead of the system store for logo fetches.
            logo_fetch_ca_file=env_str("LOGO_FETCH_CA_FILE", "", env) or None,
            # Images served on /i/ kept in memory by ETag, so a hot public image is drawn once.
            public_image_cache_bytes=env_int("PUBLIC_IMAGE_CACHE_BYTES", 64 * 1024 * 1024, env),
            # Per client address (see public_images/limit.py): the /i/ routes take no key.
            public_image_requests_per_min=env_int("PUBLIC_IMAGE_REQUESTS_PER_MIN", 120, env),
            # Proxies (the ingress) allowed to name the client in X-Forwarded-For; any other peer is
            # taken as the client itself, whatever the header says.
            trusted_proxies=parse_networks(env_list("TRUSTED_PROXIES", env=env)),
            # Failed authentications per client address per minute before it gets 429s: bounds
            # key guessing without slowing a client that mistyped its key a few times.
            auth_failures_per_min=env_int("AUTH_FAILURES_PER_MIN", 30, env),
            log_level=env_str("LOG_LEVEL", "INFO", env),
            http_limits=HttpLimits.from_env(env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            # The domains short URLs may use; REDIRECT_BASE_URL's is the default one.
            short_domains=ShortDomains.from_config(
                redirect_base_url, env_list("SHORT_DOMAINS", env=env)
            ),
            # The built browser console (console/ at the top of the repository, `make console`).
            console_dir=Path(env_str("CONSOLE_DIR", str(DEFAULT_CONSOLE_DIR), env)),
            # Presented on every call to render, keys, analytics and webhooks.
            grpc_auth_token=grpc_auth_token_from_env(env),
            grpc_tls=grpc_tls_from_env(env),
            # The live scan stream (services/gateway/stream): a comment this often keeps proxies
            # from closing an idle stream; open streams per account on one gateway process;
            # frames one stream may have queued before its client counts as too slow.
            stream_heartbeat_s=_positive(
                env_float("STREAM_HEARTBEAT_S", 15.0, env), "STREAM_HEARTBEAT_S"
            ),
            stream_max_per_account=_positive(
                env_int("STREAM_MAX_PER_ACCOUNT", 10, env), "STREAM_MAX_PER_ACCOUNT"
            ),
            stream_queue_events=_positive(
                env_int("STREAM_QUEUE_EVENTS", 1000, env), "STREAM_QUEUE_EVENTS"
            ),
        )


def _positive(value: _Number, name: str) -> _Number:
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
