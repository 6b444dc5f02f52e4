-- One row per scan, enriched; raw IPs and user agents are never stored.
-- ReplacingMergeTree on the full sorting key: a redelivered event (same event_id, same ts,
-- same code) collapses into one row; queries read with FINAL so counts are exact before merges.
-- Retention (TTL) is applied by the service from SCAN_RETENTION_DAYS, not here.
CREATE TABLE IF NOT EXISTS scans
(
    event_id String,
    account_id String,
    qr_id String,
    ts DateTime64(3, 'UTC'),
    country LowCardinality(String),
    city LowCardinality(String),
    device LowCardinality(String),
    os LowCardinality(String),
    browser LowCardinality(String),
    is_bot Bool,
    referrer LowCardinality(String),
    language LowCardinality(String),
    visitor_hash UInt64,
    inserted_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (account_id, qr_id, ts, event_id)
SETTINGS ttl_only_drop_parts = 1
