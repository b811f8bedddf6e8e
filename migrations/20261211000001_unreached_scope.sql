-- Findings in modules nothing tracked imports are left out of the pages' counts by default
-- (the overview, /repos, /deps, like /findings and /contribute), with the count of what is
-- left out always shown. "Unreached" is known only for a target whose latest scan had an
-- import index when reachability was last computed (`reach_targets`); elsewhere a finding is
-- counted. Test code is counted apart anyway (`progress_bucket`), so it is never "unreached".
CREATE FUNCTION in_unreached_module(target bigint, module_path text, in_tests boolean) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN NOT in_tests
   AND EXISTS (SELECT 1 FROM reach_targets rt WHERE rt.target_id = target)
   AND NOT EXISTS (SELECT 1 FROM module_reach mr WHERE mr.target_id = target AND mr.path = module_path);

-- The view gains the same test as a column, through joins the planner drops when a query
-- does not read it (both keys are unique).
CREATE OR REPLACE VIEW finding_progress AS
SELECT f.id AS finding_id,
       f.target_id,
       f.rule,
       finding_state(f.rule, f.fixed_in_scan, f.triage) AS state,
       f.in_tests,
       progress_bucket(finding_state(f.rule, f.fixed_in_scan, f.triage), f.in_tests) AS counts_as,
       (NOT f.in_tests AND rt.target_id IS NOT NULL AND mr.path IS NULL) AS unreached
FROM findings f
LEFT JOIN reach_targets rt ON rt.target_id = f.target_id
LEFT JOIN module_reach mr ON mr.target_id = f.target_id AND mr.path = f.path;
