-- How many live QR codes (static and dynamic: barcodes do not count towards a plan's
-- max_codes) each account has, kept by the gateway in the same transaction as every insert and
-- delete of a code (services/gateway/catalog_storage.py). The quota check is a conditional
-- update of the account's row: concurrent creates queue on its lock and each sees the count the
-- one before it committed, where counting rows could not see codes inserted by transactions
-- still running, and let racing creates overshoot the limit.
CREATE TABLE account_code_counts (
    account_id  text PRIMARY KEY,
    qr_codes    bigint NOT NULL DEFAULT 0
);

-- No code is created or deleted while the existing ones are counted.
LOCK TABLE qr_codes IN SHARE MODE;

INSERT INTO account_code_counts (account_id, qr_codes)
SELECT account_id, count(*) FROM qr_codes WHERE deleted_at IS NULL GROUP BY account_id;
