-- Tags (API.md "Tags, import and export"): up to 20 labels of at most 50 characters on every
-- QR code and barcode, kept in the code's own row as text[] so records, exports and the batch
-- insert read and write them with the rest of the row.
--
-- The filter is "this account's codes carrying tag T". A plain GIN index on `tags` would
-- index the tag alone: a tag many accounts use ("marketing") has postings for every one of
-- them, and the account is only checked on the heap afterwards. So the index is on the
-- account-qualified keys (account_id, US, tag), through an IMMUTABLE function: one posting
-- list per (account, tag), and the cost of a filter is the number of codes that carry the
-- tag in this account, however big the account or the table. No extension is needed
-- (btree_gin would do the same but needs CREATE EXTENSION rights the deployment may lack).
-- Newest-first pages of a common tag can still take the listing btree and filter: the
-- planner chooses by the tag's frequency.
ALTER TABLE qr_codes ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE barcodes ADD COLUMN tags text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION account_tag_keys(account_id text, tags text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(SELECT account_id || chr(31) || tag FROM unnest(tags) AS tag);

CREATE INDEX qr_codes_account_tags ON qr_codes USING gin (account_tag_keys(account_id, tags))
    WHERE deleted_at IS NULL;
CREATE INDEX barcodes_account_tags ON barcodes USING gin (account_tag_keys(account_id, tags))
    WHERE deleted_at IS NULL;

-- Imports (API.md "Tags, import and export", DESIGN.md "Imports are jobs"): an upload is
-- parsed once into one row per CSV line -- the code body it maps to and the line's cells --
-- and a worker works through the rows still without an outcome. A chunk's codes and its rows'
-- outcomes commit in one transaction, so a worker killed mid-chunk leaves neither, and the
-- chunk is done again on restart: no row creates a code twice.
CREATE TABLE imports (
    import_id    text PRIMARY KEY,
    account_id   text NOT NULL,
    api_key_id   text NOT NULL,              -- who uploaded it (Idempotency-Key scope)
    source       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows         integer NOT NULL,
    processed    integer NOT NULL DEFAULT 0,
    succeeded    integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    max_codes    integer NOT NULL,            -- the plan's code limit when uploaded (0: none)
    columns      text[] NOT NULL,             -- the file's header line
    key_hash     bytea,                       -- sha256 of the Idempotency-Key, if one was sent
    fingerprint  bytea NOT NULL,              -- sha256 of source and file: same key, same file?
    error        text,                        -- why a failed job stopped
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX imports_idempotency ON imports (account_id, api_key_id, key_hash)
    WHERE key_hash IS NOT NULL;
CREATE INDEX imports_unfinished ON imports (created_at) WHERE status IN ('queued', 'running');

-- body and cells are JSON kept as text: written by COPY (asyncpg has no binary jsonb encoder)
-- and only ever read back whole.
CREATE TABLE import_rows (
    import_id   text NOT NULL REFERENCES imports (import_id) ON DELETE CASCADE,
    line        integer NOT NULL,          -- 1 = the first data line after the header
    body        text NOT NULL,             -- JSON: the code body the line maps to
    cells       text NOT NULL,             -- JSON array: the line's cells, for the errors CSV
    qr_id       text,                      -- outcome: created
    error_code  text,                      -- outcome: failed, with reason
    reason      text,
    PRIMARY KEY (import_id, line)
);

-- What the worker reads next: the rows of a job without an outcome, in line order.
CREATE INDEX import_rows_pending ON import_rows (import_id, line)
    WHERE qr_id IS NULL AND error_code IS NULL;
-- The errors CSV: the failed rows of a job, in line order.
CREATE INDEX import_rows_failed ON import_rows (import_id, line) WHERE error_code IS NOT NULL;
