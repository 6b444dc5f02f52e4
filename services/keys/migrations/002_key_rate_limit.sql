-- A key may carry its own requests-per-minute limit, below its account's (NULL = none: the
-- account's limit alone applies). The gateway enforces both windows.
ALTER TABLE api_keys
    ADD COLUMN rate_limit_per_min integer CHECK (rate_limit_per_min > 0);
