-- design.fit (API.md "Designs v1.1"): what was actually drawn, and what the client is told
-- about it. `error_correction` already holds the level drawn (a raised one included); the
-- logo size drawn may be smaller than design.logo_size (NULL: no logo, or a code stored
-- before fitting, drawn at its design's size). `warnings` is a JSON array of {code, message}.
ALTER TABLE qr_codes
    ADD COLUMN applied_logo_size double precision,
    ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]'::jsonb;
