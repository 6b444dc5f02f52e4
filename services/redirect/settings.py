"""Redirect service settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.runtime.client_ip import IPNetwork, parse_networks
from services.runtime.config import env_float, env_int, env_list, env_secret, env_str
from services.runtime.http_server import (
    HttpLimits,
)
from services.runtime.short_links import ShortDomains

DEV_VARIANT_HASH_KEY = "qrforge-dev-variant-key-do-not-use-in-production"


@dataclass(frozen=True, slots=True)
class RedirectSettings:
    port: int
    admin_port: int
    database_url: str
    amqp_url: str
    redis_url: str | None
    spool_dir: str
    trusted_proxies: tuple[IPNetwork, ...]
    cache_size: int
    cache_ttl_s: float
    negative_ttl_s: float
    db_pool_max: int
    db_timeout_s: float
    buffer_capacity: int
    publish_batch_max: int
    publish_linger_s: float
    publish_timeout_s: float
    shutdown_grace_s: float
    flush_timeout_s: float
    log_level: str
    http_limits: HttpLimits
    admin_host: str
    short_domains: ShortDomains
    variant_hash_key: bytes = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RedirectSettings:
        """Every setting from ``env`` (``os.environ`` when ``None``), defaults for the rest."""
        return cls(
            port=env_int("REDIRECT_PORT", 8081, env),
            admin_port=env_int("REDIRECT_ADMIN_PORT", 9081, env),
            database_url=env_str(
                "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qrforge", env
            ),
            amqp_url=env_str("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", env),
            # Unset: password tries are counted per replica; set: shared by every replica.
            redis_url=env_str("REDIS_URL", "", env) or None,
            # One directory per replica (a pod's own volume): the spool is locked by its process.
            spool_dir=env_str("SPOOL_DIR", "var/redirect-spool", env),
            trusted_proxies=parse_networks(env_list("TRUSTED_PROXIES", env=env)),
            cache_size=env_int("REDIRECT_CACHE_SIZE", 100_000, env),
            # Catalog events evict at once; the TTL only bounds staleness if one is ever missed.
            cache_ttl_s=env_float("REDIRECT_CACHE_TTL_S", 60.0, env),
            negative_ttl_s=env_float("REDIRECT_NEGATIVE_TTL_S", 2.0, env),
            db_pool_max=env_int("REDIRECT_DB_POOL_MAX", 10, env),
            db_timeout_s=env_float("REDIRECT_DB_TIMEOUT_S", 2.0, env),
            buffer_capacity=env_int("REDIRECT_BUFFER_CAPACITY", 20_000, env),
            publish_batch_max=env_int("REDIRECT_PUBLISH_BATCH_MAX", 500, env),
            publish_linger_s=env_float("REDIRECT_PUBLISH_LINGER_S", 0.010, env),
            publish_timeout_s=env_float("REDIRECT_PUBLISH_TIMEOUT_S", 10.0, env),
            shutdown_grace_s=env_float("SHUTDOWN_GRACE_S", 10.0, env),
            flush_timeout_s=env_float("REDIRECT_FLUSH_TIMEOUT_S", 5.0, env),
            log_level=env_str("LOG_LEVEL", "INFO", env),
            http_limits=HttpLimits.from_env(env),
            admin_host=env_str("ADMIN_HOST", "127.0.0.1", env),
            # The hosts codes are looked up by; the gateway reads the same two variables.
            short_domains=ShortDomains.from_config(
                env_str("REDIRECT_BASE_URL", "http://127.0.0.1:8081", env),
                env_list("SHORT_DOMAINS", env=env),
            ),
            # One key for every replica, so a visitor keeps their A/B variant on all of them;
            # changing it reshuffles who sees which variant.
            variant_hash_key=env_secret("VARIANT_HASH_KEY", DEV_VARIANT_HASH_KEY, env).encode(),
        )
