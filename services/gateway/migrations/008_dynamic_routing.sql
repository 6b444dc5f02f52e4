-- Dynamic codes v1.1 (API.md): codes live on a short domain and route by rules and variants.
-- `domain` is the short domain's key: '' for the default domain (REDIRECT_BASE_URL, where
-- every code made before domains lived), else the domain's name. Codes are unique per
-- (domain, short_code); a deleted code keeps its short code taken, so a printed code never
-- starts sending people somewhere its owner did not choose.
-- `rules`: [{if: {device?, os?, country?, language?, query?}, destination_url}] (first match
-- wins); `variants`: [{destination_url, weight}]; `utm`: {source, medium, campaign, term?,
-- content?} or NULL; `expired_url`: where expired, exhausted or inactive codes send people.
ALTER TABLE qr_codes
    ADD COLUMN domain        text NOT NULL DEFAULT '',
    ADD COLUMN rules         jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN variants      jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN expired_url   text,
    ADD COLUMN forward_query boolean NOT NULL DEFAULT false,
    ADD COLUMN utm           jsonb;

CREATE UNIQUE INDEX qr_codes_domain_short_code ON qr_codes (domain, short_code)
    WHERE short_code IS NOT NULL;
DROP INDEX qr_codes_short_code;
