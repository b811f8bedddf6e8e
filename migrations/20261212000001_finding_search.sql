-- The explorer's counts for a text search read every finding the text matches, and a broad
-- text (a path part, `threading`) matches most of them: spread over the whole table, so the
-- scan reads every page of `findings`, whose rows carry the message, the code around the
-- finding, its fix and its call path. `finding_search` keeps only what the counts read —
-- the columns named as in `findings`, so the same conditions apply to both — in rows a
-- quarter as wide, kept in step by a trigger (and dropped with their finding).
CREATE TABLE finding_search (
    id bigint PRIMARY KEY REFERENCES findings (id) ON DELETE CASCADE,
    target_id bigint NOT NULL,
    rule text NOT NULL,
    path text NOT NULL,
    in_tests boolean,
    fixed_in_scan bigint,
    triage text NOT NULL,
    runs_at text,
    runs_at_via text,
    search_text text
);
CREATE INDEX finding_search_text_trgm_idx ON finding_search USING gin (search_text gin_trgm_ops);

CREATE FUNCTION finding_search_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_search (id, target_id, rule, path, in_tests, fixed_in_scan, triage, runs_at, runs_at_via, search_text)
    VALUES (NEW.id, NEW.target_id, NEW.rule, NEW.path, NEW.in_tests, NEW.fixed_in_scan, NEW.triage, NEW.runs_at,
            NEW.runs_at_via, NEW.search_text)
    ON CONFLICT (id) DO UPDATE SET
        target_id = EXCLUDED.target_id, rule = EXCLUDED.rule, path = EXCLUDED.path, in_tests = EXCLUDED.in_tests,
        fixed_in_scan = EXCLUDED.fixed_in_scan, triage = EXCLUDED.triage, runs_at = EXCLUDED.runs_at,
        runs_at_via = EXCLUDED.runs_at_via, search_text = EXCLUDED.search_text;
    RETURN NULL;
END $$;

CREATE TRIGGER finding_search_on_insert AFTER INSERT ON findings
    FOR EACH ROW EXECUTE FUNCTION finding_search_sync();
-- A rescan rewrites `last_seen_scan` of every finding it sees again: only a change of what
-- the counts read costs a write here.
CREATE TRIGGER finding_search_on_update AFTER UPDATE ON findings
    FOR EACH ROW
    WHEN ((OLD.target_id, OLD.rule, OLD.path, OLD.in_tests, OLD.fixed_in_scan, OLD.triage, OLD.runs_at, OLD.runs_at_via,
           OLD.search_text)
          IS DISTINCT FROM
          (NEW.target_id, NEW.rule, NEW.path, NEW.in_tests, NEW.fixed_in_scan, NEW.triage, NEW.runs_at, NEW.runs_at_via,
           NEW.search_text))
    EXECUTE FUNCTION finding_search_sync();

INSERT INTO finding_search (id, target_id, rule, path, in_tests, fixed_in_scan, triage, runs_at, runs_at_via, search_text)
SELECT id, target_id, rule, path, in_tests, fixed_in_scan, triage, runs_at, runs_at_via, search_text FROM findings;

-- Without it the planner takes `finding_state(...) IN (...)` for a 0.5 % guess per value and
-- expects a broad search to match a few hundred rows: it then hashes the findings instead of
-- the claims joined to them.
CREATE STATISTICS finding_search_state ON (finding_state(rule, fixed_in_scan, triage)) FROM finding_search;
ANALYZE finding_search;
