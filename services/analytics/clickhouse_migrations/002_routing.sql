-- Dynamic codes v1.1: the routing rule and the A/B variant a scan was sent by (scan events of
-- version 2). NULL: the default destination, no variant, or a scan from before routing existed.
ALTER TABLE scans ADD COLUMN IF NOT EXISTS rule Nullable(UInt16);
ALTER TABLE scans ADD COLUMN IF NOT EXISTS variant Nullable(UInt16)
