-- What a scan's request- and worker-time code calls in other packages (scanner's
-- `CallOut`s: name, at, why, path, file, line), for "runs at" across targets: a finding
-- that nothing in its own package calls runs when these calls of its functions do
-- (db::models::runs_at_via). NULL: the scan did not look (no call graph, a SARIF upload).
ALTER TABLE scans ADD COLUMN calls_out jsonb;
