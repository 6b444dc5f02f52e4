-- How many live QR codes (static and dynamic: barcodes do not count towards a plan's
-- max_codes) each account has, kept by the gateway in the same transaction as every insert and
-- delete of a code (services/gateway/qrcodes/storage.py). The quota check is a conditional
-- update of the account's row: concurrent creates queue on its lock and each sees the count the
-- one before it committed, where counting rows could not see codes inserted by transactions
-- still running, and let racing creates overshoot the limit.
-- An account's count is the sum of its shards. An account under a limit counts on shard 0
-- alone (one row to queue on, so the check is exact); an unlimited one adds to a random shard
-- of 1-15, so its concurrent creates do not all wait for one row lock held across each commit.
-- Deletes take one off shard 0, which may go below zero: only the sum means anything.
CREATE TABLE account_code_counts (
    account_id  text NOT NULL,
    shard       smallint NOT NULL DEFAULT 0,
    qr_codes    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, shard)
);

-- No code is created or deleted while the existing ones are counted.
LOCK TABLE qr_codes IN SHARE MODE;

INSERT INTO account_code_counts (account_id, qr_codes)
SELECT account_id, count(*) FROM qr_codes WHERE deleted_at IS NULL GROUP BY account_id;
