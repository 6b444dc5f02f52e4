-- Dynamic codes: a short code that the redirect service resolves to a destination that can
-- change after printing, with optional protection.
ALTER TABLE qr_codes
    ADD COLUMN short_code      text,
    ADD COLUMN destination_url text,
    ADD COLUMN password_hash   text,           -- services.runtime.passwords format; never returned
    ADD COLUMN expires_at      timestamptz,
    ADD COLUMN max_scans       integer NOT NULL DEFAULT 0,   -- 0 = unlimited
    ADD COLUMN scan_count      bigint NOT NULL DEFAULT 0,    -- only maintained when max_scans > 0
    ADD COLUMN active          boolean NOT NULL DEFAULT true;

CREATE UNIQUE INDEX qr_codes_short_code ON qr_codes (short_code) WHERE short_code IS NOT NULL;
