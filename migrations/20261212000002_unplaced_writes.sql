-- UT013 (an attribute of a shared object written in a function) is a finding when the
-- function runs while a request is served or a task runs. A scan keeps the writes whose time
-- its own package cannot tell (a library function nobody in it calls): another target's
-- request- or worker-time code may call it (`runs_at_via`, db::models::runs_at_via). Until
-- one does, such a write is left out of the pages' counts by default, like a finding in a
-- module nothing imports, and counted with them on the line that says what is left out.
CREATE FUNCTION unplaced_write(rule text, runs_at text, runs_at_via text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN rule = 'UT013' AND coalesce(runs_at_via, runs_at, 'unknown') NOT IN ('request', 'worker');

-- What the pages leave out by default: outside test code (counted apart anyway), a finding
-- in a module no tracked code imports, or a write no request or task is known to make.
CREATE FUNCTION left_out_by_default(target bigint, module_path text, in_tests boolean, rule text, runs_at text,
                                    runs_at_via text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN NOT in_tests
   AND (unplaced_write(rule, runs_at, runs_at_via) OR in_unreached_module(target, module_path, in_tests));

-- `unreached` now says "left out by default": either reason.
CREATE OR REPLACE VIEW finding_progress AS
SELECT f.id AS finding_id,
       f.target_id,
       f.rule,
       finding_state(f.rule, f.fixed_in_scan, f.triage) AS state,
       f.in_tests,
       progress_bucket(finding_state(f.rule, f.fixed_in_scan, f.triage), f.in_tests) AS counts_as,
       (NOT f.in_tests AND ((rt.target_id IS NOT NULL AND mr.path IS NULL)
                            OR unplaced_write(f.rule, f.runs_at, f.runs_at_via))) AS unreached
FROM findings f
LEFT JOIN reach_targets rt ON rt.target_id = f.target_id
LEFT JOIN module_reach mr ON mr.target_id = f.target_id AND mr.path = f.path;
