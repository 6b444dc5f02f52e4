-- Saved designs (API.md "Designs v1.1"): a named `design` object an account reuses by
-- `design_id` on any QR request. Codes never point here: each code keeps the design it was
-- drawn with in its own row, so editing or deleting a saved design changes no existing code.
-- `design` holds the design as the client gave it (checked, normalised), without logo bytes:
-- a logo (given as logo_data, or fetched from logo_url when saved) lives in `logos` by hash,
-- as codes' logos do. Deleting is for real: nothing refers to a design row.
CREATE TABLE designs (
    design_id    text PRIMARY KEY,
    account_id   text NOT NULL,
    name         text NOT NULL,
    design       jsonb NOT NULL,
    logo_sha256  text REFERENCES logos (sha256),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Listing newest first per account, keyset pagination on (created_at, design_id), counting.
CREATE INDEX designs_account_listing ON designs (account_id, created_at DESC, design_id DESC);
