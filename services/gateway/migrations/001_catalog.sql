-- The code catalog: what each account stored (the spec, never the pixels: images are a pure
-- function of the spec and re-rendered on download).
CREATE TABLE logos (
    sha256      text PRIMARY KEY,
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qr_codes (
    qr_id            text PRIMARY KEY,
    account_id       text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('static', 'dynamic')),
    qr_type          text NOT NULL,
    name             text,
    content          jsonb NOT NULL,
    payload          text NOT NULL,
    format           text NOT NULL,
    size             integer NOT NULL,
    error_correction text NOT NULL,
    quiet_zone       integer NOT NULL,
    design           jsonb NOT NULL,
    logo_sha256      text REFERENCES logos (sha256),
    version          integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);

-- Listing newest first per account, and keyset pagination on (created_at, qr_id).
CREATE INDEX qr_codes_account_listing ON qr_codes (account_id, created_at DESC, qr_id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE barcodes (
    barcode_id  text PRIMARY KEY,
    account_id  text NOT NULL,
    symbology   text NOT NULL,
    value       text NOT NULL,
    output      text NOT NULL,
    width       integer NOT NULL,
    height      integer NOT NULL,
    show_text   boolean NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE INDEX barcodes_account_listing ON barcodes (account_id, created_at DESC, barcode_id DESC)
    WHERE deleted_at IS NULL;
