-- Where each finding stands for progress, defined once for every query that counts
-- (overview, per target, per rule, blockers, weekly report):
-- * open: not fixed and triaged open or confirmed;
-- * fixed: a later complete scan no longer sees it;
-- * migrated: a UT100 finding (a context variable already in place) still present;
-- * triaged_away: not fixed, triaged false_positive or wont_fix (shown apart);
-- * NULL: a UT100 finding that went away counts nowhere.
CREATE VIEW finding_progress AS
SELECT f.id AS finding_id,
       f.target_id,
       f.rule,
       CASE
           WHEN f.rule = 'UT100' THEN CASE WHEN f.fixed_in_scan IS NULL THEN 'migrated' END
           WHEN f.fixed_in_scan IS NOT NULL THEN 'fixed'
           WHEN f.triage IN ('false_positive', 'wont_fix') THEN 'triaged_away'
           ELSE 'open'
       END AS state
FROM findings f;
