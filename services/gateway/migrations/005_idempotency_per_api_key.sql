-- An idempotency record belongs to the API key that sent the request, not just to its account:
-- a replay hands back the stored response as it was (for POST /v1/api-keys, a new key's
-- secret), so another key of the account -- one with fewer permissions, say -- must not get it;
-- its request with the same Idempotency-Key is its own. Records written before this have no key
-- id (''), are never matched again and expire within 24 h.
ALTER TABLE idempotency_keys ADD COLUMN api_key_id text NOT NULL DEFAULT '';

ALTER TABLE idempotency_keys
    DROP CONSTRAINT idempotency_keys_pkey,
    ADD PRIMARY KEY (account_id, api_key_id, key_hash);
