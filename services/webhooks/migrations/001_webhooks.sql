-- Customer endpoints and the deliveries made to them; owned by the webhooks service.
CREATE TABLE webhooks (
    webhook_id text PRIMARY KEY,
    account_id text NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    qr_ids text[] NOT NULL DEFAULT '{}',  -- empty: every code of the account
    description text NOT NULL DEFAULT '',
    secret_sealed bytea NOT NULL,  -- AES-GCM, key from WEBHOOK_ENCRYPTION_KEY
    active boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',  -- gone (410) | failing (3 days) | ''
    failing_since timestamptz,  -- first failure since the last success
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, created_at DESC, webhook_id);

-- One row per (endpoint, event): its delivery_id is the webhook-id header, the same on every
-- attempt; payload is the exact body sent. A pending row is due at next_attempt_at; while an
-- attempt is in flight next_attempt_at is its lease end, so a row whose process died is
-- retaken by any replica once the lease is over (the durable retry state).
CREATE TABLE webhook_deliveries (
    delivery_id text PRIMARY KEY,
    webhook_id text NOT NULL REFERENCES webhooks (webhook_id) ON DELETE CASCADE,
    account_id text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    payload bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error text NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)  -- an event redelivered by the broker is one delivery
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC, delivery_id);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at);
