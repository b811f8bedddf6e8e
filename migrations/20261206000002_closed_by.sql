-- Who closed an issue, as its timeline says — never its author. The sync reads each
-- sub-issue's timeline; its last `closed` event gives the actor (when GitHub names one) and
-- the commit that closed it (a merge commit saying "Closes #n"), which names the pull request
-- whose `merge_commit_sha` it is.
ALTER TABLE gh_pulls ADD COLUMN merge_commit_sha text CHECK (merge_commit_sha ~ '^[0-9a-f]{7,64}$');
CREATE INDEX gh_pulls_merge_commit_idx ON gh_pulls (merge_commit_sha) WHERE merge_commit_sha IS NOT NULL;
ALTER TABLE gh_issues
    ADD COLUMN closed_by_actor  text,
    ADD COLUMN closed_by_commit text CHECK (closed_by_commit ~ '^[0-9a-f]{7,64}$');

-- Findings fixed through GitHub: the author of the merged pull request linked to a finding
-- (naming it, or changing its file) whose fixing scan finished after the merge — the pull
-- request merged last before that scan. In scope only (every rule but UT100, outside tests).
-- GitHub people are people of the product: `/people/<login>`, top contributors.
CREATE VIEW github_fixes AS
SELECT DISTINCT ON (f.id) pr.author AS login, f.id AS finding_id, pr.id AS pull_id, s.finished_at AS fixed_at
FROM links l
JOIN gh_pulls pr ON pr.id = l.pull_id AND pr.merged AND pr.author IS NOT NULL
JOIN findings f ON f.id = l.finding_id
JOIN scans s ON s.id = f.fixed_in_scan
WHERE l.removed_at IS NULL AND s.finished_at >= pr.merged_at AND f.rule <> 'UT100' AND NOT f.in_tests
ORDER BY f.id, pr.merged_at DESC;

-- How lists name a person: simulated ones (development-only accounts: the demo's people, dev
-- logins) say so.
CREATE FUNCTION person_label(login text, dev_only boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN login || CASE WHEN dev_only THEN ' (simulated)' ELSE '' END;
