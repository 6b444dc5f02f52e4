-- Search by name (`GET /v1/qrcodes?q=`): a case-insensitive substring match, `name ILIKE
-- '%…%'`, which no btree can answer. pg_trgm's GIN operator class indexes the trigrams of the
-- names, so a needle of 3 characters or more reads the posting lists of its trigrams instead of
-- every name; shorter needles have no trigram to look up and the planner keeps the account's
-- listing index (bounded by the account's own codes). pg_trgm ships with Postgres (contrib) and
-- has been a trusted extension since Postgres 13: the database owner may create it without
-- superuser rights.
--
-- The index is on the name alone, not (account, name): trigram keys cannot be qualified by the
-- account the way migration 010 qualifies tags, and the planner combines it with
-- qr_codes_account_listing (BitmapAnd) or filters the account's rows, whichever it estimates
-- cheaper. Only live, named codes are indexed.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX qr_codes_name_trgm ON qr_codes USING gin (name gin_trgm_ops)
    WHERE deleted_at IS NULL AND name IS NOT NULL;
