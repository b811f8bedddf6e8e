-- One scope for every count of progress (pages, facets, exports, the weekly report).
--
-- In scope: findings that need work — every rule but UT100 — outside test code (the epic:
-- "I'm currently ignoring threading code that only shows up in tests"). Done: fixed, and
-- triaged away (false positive / won't fix), shown apart. UT100 (a context variable already
-- in place) is information, never progress. Open findings in test code are counted apart.

-- Test code, as the scanner's `source::is_test_module` says it (a test asserts the two agree):
-- a `tests`, `test` or `testing` directory, `test_*.py`, `tests.py`, `test.py`, `conftest.py`.
-- Not `*_test.py`: that also names real modules.
CREATE FUNCTION is_test_path(path text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN path ~ '(^|/)(tests|test|testing)(/|$)'
    OR path ~ '(^|/)test_[^/]*$'
    OR path ~ '(^|/)(tests|test|conftest)\.py$';

ALTER TABLE findings ADD COLUMN in_tests boolean GENERATED ALWAYS AS (is_test_path(path)) STORED;

-- What a finding counts as in progress, from its state (`finding_state()`) and whether it is
-- test code: `open`, `fixed`, `triaged_away` (the scope), `migrated` (information),
-- `tests_open` (open in test code: counted apart), NULL (counts nowhere: a UT100 that went
-- away, a fixed or triaged-away test finding, a context variable in tests).
CREATE FUNCTION progress_bucket(state text, in_tests boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN in_tests THEN CASE WHEN state = 'open' THEN 'tests_open' END
    ELSE state
END;

CREATE OR REPLACE VIEW finding_progress AS
SELECT f.id AS finding_id,
       f.target_id,
       f.rule,
       finding_state(f.rule, f.fixed_in_scan, f.triage) AS state,
       f.in_tests,
       progress_bucket(finding_state(f.rule, f.fixed_in_scan, f.triage), f.in_tests) AS counts_as
FROM findings f;

CREATE INDEX findings_open_scope_idx ON findings (target_id, rule) WHERE fixed_in_scan IS NULL AND NOT in_tests;

-- Links mean what they say: a finding is *filed* when a GitHub item names it — its Unthread
-- URL, its path and symbol, a permalink to its lines, or a maintainer's link. A pull request
-- that changed its file (`path`) is evidence that someone touched it, not a claim that it
-- addresses the finding; a sub-issue that names only its repository links the target.
CREATE FUNCTION link_names_finding(how text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN how IN ('explicit', 'mention', 'manual');
