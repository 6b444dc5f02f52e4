-- Idempotency records: the first response to a POST sent with an Idempotency-Key, per account,
-- replayed byte for byte for 24 h. The key itself is kept only as a SHA-256 (key_hash) and the
-- stored body is sealed with a key derived from the raw Idempotency-Key (see
-- services/gateway/idempotency.py), so the table alone never reveals a response (e.g. the
-- secret of a freshly created API key).
CREATE TABLE idempotency_keys (
    account_id   text NOT NULL,
    key_hash     bytea NOT NULL,
    fingerprint  bytea NOT NULL,           -- sha256(method, path, canonical body)
    claim_id     uuid NOT NULL,            -- who holds the pending claim / wrote the response
    state        text NOT NULL CHECK (state IN ('pending', 'complete')),
    status       integer,                  -- complete only
    headers      jsonb,                    -- complete only: [[name, value], ...]
    body         bytea,                    -- complete only: sealed response body
    created_at   timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz NOT NULL,     -- a pending claim older than this was abandoned
    expires_at   timestamptz NOT NULL,     -- ignored from then on, purged lazily
    PRIMARY KEY (account_id, key_hash)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
