-- When a thread-local holder's code runs, seen from other packages: a UT001/UT002 finding's
-- own scan can only say "made at import, used wherever it is imported" (unknown), but the
-- UT011 calls in other targets whose chain ends at its holder run when their scans say.
-- `runs_at_via` is the most urgent of those (request before worker), set only when more
-- urgent than the finding's own `runs_at`; `runs_at_via_path` says which call
-- ({"why": ..., "path": [...]}: the caller's path, then the API called). Recomputed with
-- reachability (db::models::runs_at_via). NULL: no such call.
ALTER TABLE findings
    ADD COLUMN runs_at_via text CHECK (runs_at_via IN ('request', 'worker')),
    ADD COLUMN runs_at_via_path jsonb;
