-- Accounts and their API keys. A key's secret is never stored: only its HMAC-SHA256 under
-- KEY_PEPPER (hex) for lookups, and a short display prefix so people can tell keys apart.

CREATE TABLE accounts (
    account_id         text PRIMARY KEY,
    name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- The plan catalogue lives in code (services/keys/plans.py); limits are copied here so a
    -- per-account override survives catalogue changes.
    plan               text NOT NULL,
    api_access         boolean NOT NULL,
    rate_limit_per_min integer NOT NULL CHECK (rate_limit_per_min > 0),
    max_codes          integer NOT NULL CHECK (max_codes >= 0),  -- 0 = unlimited
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id       text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    permissions  text[] NOT NULL
                 CHECK (cardinality(permissions) > 0 AND permissions <@ ARRAY['read', 'write']),
    secret_hash  text NOT NULL,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

-- Authentication is one index probe on the HMAC.
CREATE UNIQUE INDEX api_keys_secret_hash_key ON api_keys (secret_hash);
-- Listing an account's live keys, newest first.
CREATE INDEX api_keys_account_live_idx ON api_keys (account_id, created_at DESC)
    WHERE revoked_at IS NULL;
