-- Who works on an item according to GitHub: the assignees of the open issues and pull
-- requests linked to a finding, directly or through its target (links not removed). Shown
-- next to the Unthread owner, never written over it.
CREATE VIEW finding_github_assignees AS
SELECT f.id AS finding_id,
       array_agg(DISTINCT a.login ORDER BY a.login) AS assignees
FROM findings f
JOIN links l ON (l.finding_id = f.id OR l.target_id = f.target_id) AND l.removed_at IS NULL
LEFT JOIN gh_issues i ON i.id = l.issue_id AND i.state = 'open'
LEFT JOIN gh_pulls p ON p.id = l.pull_id AND p.state = 'open'
CROSS JOIN LATERAL unnest(coalesce(i.assignees, p.assignees, '{}')) AS a(login)
GROUP BY f.id;
