-- Which key created each key (NULL: made by the admin CLI with an account, or before this
-- migration). Revoking a key revokes every key made from it, directly or not: otherwise a
-- stolen key could mint itself a successor that survives the revocation.
ALTER TABLE api_keys ADD COLUMN parent_key_id text REFERENCES api_keys (key_id);
CREATE INDEX api_keys_parent_key_id ON api_keys (parent_key_id) WHERE parent_key_id IS NOT NULL;
