-- What each scanned module imports (scanner::imports::ImportIndex as JSON), for reachability.
ALTER TABLE scans ADD COLUMN import_index jsonb;

-- The modules (by file) the tracked repositories' non-test code reaches by imports, directly
-- or through other targets' modules, with the shortest import chain: the first element names
-- the repository and its module ("openedx/edx-platform:lms.urls"), the rest are modules, the
-- last being this one. A repository's own non-test modules are here too (a chain of one).
-- Recomputed as a whole from the latest scans (db::models::reach::recompute).
CREATE TABLE module_reach (
    target_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    path      text NOT NULL,
    module    text NOT NULL,
    chain     text[] NOT NULL CHECK (cardinality(chain) >= 1),
    PRIMARY KEY (target_id, path)
);

-- The targets whose latest scan had an import index when reachability was last computed:
-- for them a module missing from module_reach is known not to be reached; for the others
-- reachability is unknown.
CREATE TABLE reach_targets (
    target_id bigint PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    scan_id   bigint NOT NULL REFERENCES scans (id) ON DELETE CASCADE
);
