-- A hash of the file a finding was last seen in (xxh3 of its bytes, as the scanner read them).
-- A later complete scan that no longer reports the finding, in a file whose hash is the same,
-- changed its rules, not the code: the finding is not fixed (db::ingest::retired). NULL: the
-- scan gave no hashes (a SARIF upload, a scan from before).
ALTER TABLE findings ADD COLUMN file_hash bigint;
