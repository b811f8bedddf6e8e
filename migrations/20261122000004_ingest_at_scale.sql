-- Ingesting a rescan rewrites most rows of `findings` (every seen finding's last_seen_scan),
-- so those rewrites must be cheap (measured by `cargo bench -p unthread-server --bench ingest`).

-- HOT (heap-only) updates touch no index: they need room on the page for the new row version
-- and no index depending on a column the rescan changes. Half of each page stays free, and
-- the per-target index no longer depends on fixed_in_scan (the partial "open" indexes made
-- every fixed finding a non-HOT update; the progress queries filter on it instead).
ALTER TABLE findings SET (fillfactor = 50);
DROP INDEX findings_open_by_target_idx;
DROP INDEX findings_open_by_rule_idx;
CREATE INDEX findings_target_rule_idx ON findings (target_id, rule);
-- Matching a scan (same fingerprint, renamed file) now happens in memory over the target's
-- findings, read through UNIQUE (target_id, fingerprint): these only slowed every insert.
DROP INDEX findings_content_idx;
DROP INDEX findings_path_idx;

-- A digest (XXH3-64, computed by the server) of everything stored about a finding but its
-- fingerprint: matching reads it instead of the texts, and rewrites only what changed.
ALTER TABLE findings ADD COLUMN details_digest bigint NOT NULL DEFAULT 0;

-- A foreign-key check per finding per scan on last_seen_scan and fixed_in_scan took a third
-- of a rescan's time. Scans become append-only (below), first_seen_scan keeps its foreign
-- key, and the order of a finding's scans is checked instead.
ALTER TABLE findings
    DROP CONSTRAINT findings_last_seen_scan_fkey,
    DROP CONSTRAINT findings_fixed_in_scan_fkey,
    ADD CONSTRAINT findings_seen_after_first_seen CHECK (last_seen_scan >= first_seen_scan),
    ADD CONSTRAINT findings_fixed_after_last_seen CHECK (fixed_in_scan IS NULL OR fixed_in_scan > last_seen_scan);

-- A scan is history: once recorded it is never deleted (findings and events refer to it).
CREATE FUNCTION history_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% keeps history (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER scans_are_never_deleted
    BEFORE DELETE ON scans
    FOR EACH ROW EXECUTE FUNCTION history_is_kept();

-- A scan changes thousands of findings at once: it records one event per kind of change
-- (findings.new / .fixed / .renamed / .reopened) listing the findings, instead of one row
-- each. A finding's history is then `finding_id = $1 OR finding_ids @> ARRAY[$1]`.
ALTER TABLE events
    ADD COLUMN finding_ids bigint[] CHECK (finding_ids IS NULL OR cardinality(finding_ids) > 0);
CREATE INDEX events_finding_ids_idx ON events USING gin (finding_ids) WHERE finding_ids IS NOT NULL;
