-- When a finding's code runs (scanner::runs_at): reached from a request entry point, a Celery
-- task, only start-up code, only tests, or none the call graph could tell. NULL: not analysed
-- (a SARIF import without it, or a scan from before). `runs_at_path` holds why and the call
-- path from the entry point ({"why": ..., "path": [...]}), shown on the finding's page.
ALTER TABLE findings
    ADD COLUMN runs_at text CHECK (runs_at IN ('request', 'worker', 'start-up', 'tests', 'unknown')),
    ADD COLUMN runs_at_path jsonb;
