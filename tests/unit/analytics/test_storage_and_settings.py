from __future__ import annotations

import pytest

from services.analytics.settings import AnalyticsSettings
from services.analytics.storage import migration_statements, retention_statement
from services.runtime.config import ConfigError
from services.runtime.grpc_auth import GRPC_AUTH_TOKEN_ENV

# Required in every environment; these tests are about the other settings.
WITH_TOKEN = {GRPC_AUTH_TOKEN_ENV: "t" * 32}

CREATE = (
    "CREATE TABLE default.scans (`event_id` String) ENGINE = ReplacingMergeTree "
    "PARTITION BY toYYYYMM(ts) ORDER BY (account_id, qr_id, ts, event_id) {ttl}SETTINGS ttl_only_drop_parts = 1"
)


def test_migrations_are_idempotent_statements() -> None:
    statements = migration_statements()
    assert statements
    assert all("IF NOT EXISTS" in statement for statement in statements)
    assert all("--" not in statement for statement in statements)
    table = statements[0]
    assert "ReplacingMergeTree" in table
    assert "PARTITION BY toYYYYMM(ts)" in table
    assert "ORDER BY (account_id, qr_id, ts, event_id)" in table
    assert " ip " not in table and "user_agent" not in table


def test_retention_is_altered_only_when_it_changes() -> None:
    without = CREATE.format(ttl="")
    with_395 = CREATE.format(ttl="TTL toDateTime(ts) + toIntervalDay(395) ")
    assert retention_statement(without, 0) is None
    assert retention_statement(with_395, 395) is None
    assert (
        retention_statement(without, 30)
        == "ALTER TABLE scans MODIFY TTL toDateTime(ts) + toIntervalDay(30)"
    )
    assert (
        retention_statement(with_395, 30)
        == "ALTER TABLE scans MODIFY TTL toDateTime(ts) + toIntervalDay(30)"
    )
    assert retention_statement(with_395, 0) == "ALTER TABLE scans REMOVE TTL"


def test_settings_defaults() -> None:
    settings = AnalyticsSettings.from_env(WITH_TOKEN)
    assert (settings.port, settings.admin_port) == (7053, 9053)
    assert settings.clickhouse_url.startswith("chdb:///") and settings.clickhouse_url.endswith(
        "var/clickhouse"
    )
    assert (settings.batch_max_events, settings.batch_max_wait_s) == (10_000, 0.2)
    assert settings.prefetch_count >= settings.batch_max_events
    assert "visitor_salt" not in repr(settings)
    assert "grpc_auth_token" not in repr(settings)
    assert (settings.grpc_host, settings.admin_host) == ("127.0.0.1", "127.0.0.1")


def test_production_needs_a_visitor_salt() -> None:
    with pytest.raises(ConfigError):
        AnalyticsSettings.from_env({**WITH_TOKEN, "QRFORGE_ENV": "production"})
    settings = AnalyticsSettings.from_env(
        {**WITH_TOKEN, "QRFORGE_ENV": "production", "VISITOR_SALT": "s3cret"}
    )
    assert settings.visitor_salt == b"s3cret"


@pytest.mark.parametrize(
    "env",
    [
        {"ANALYTICS_BATCH_MAX_EVENTS": "0"},
        {"ANALYTICS_BATCH_MAX_WAIT_S": "0"},
        {"SCAN_RETENTION_DAYS": "-1"},
    ],
)
def test_unusable_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        AnalyticsSettings.from_env({**WITH_TOKEN, **env})
