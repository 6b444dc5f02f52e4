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
-- parsed once into one row per CSV line -- the code body it maps to and the line as the file
-- had it -- and a consumer works through the rows still without an outcome. A chunk's codes
-- and its rows' outcomes commit in one transaction, so a consumer killed mid-chunk leaves
-- neither, and the chunk is done again on restart: no row creates a code twice.
CREATE TABLE imports (
    import_id   text PRIMARY KEY,
    account_id  text NOT NULL,
    source      text NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows        integer NOT NULL,
    processed   integer NOT NULL DEFAULT 0,
    succeeded   integer NOT NULL DEFAULT 0,
    failed      integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE import_rows (
    import_id   text NOT NULL REFERENCES imports (import_id) ON DELETE CASCADE,
    line        integer NOT NULL,          -- 1 = the first data line after the header
    body        jsonb NOT NULL,            -- the code body the line maps to
    source_row  jsonb NOT NULL,            -- the line's cells by column name (errors CSV)
    qr_id       text,                      -- outcome: created
    error_code  text,                      -- outcome: failed, with reason
    reason      text,
    PRIMARY KEY (import_id, line)
);

-- What the consumer reads next: the rows of a job without an outcome, in line order.
CREATE INDEX import_rows_pending ON import_rows (import_id, line)
    WHERE qr_id IS NULL AND error_code IS NULL;
