-- Rescans from GitHub on the job queue (docs/architecture.md, "Jobs"). The queue's own tables
-- live in the `underway` schema, migrated by the queue crate after these.

-- The requirements files of a repository that its pushes are watched for (paths in the
-- repository). The platform's default; files imported earlier are watched too.
ALTER TABLE targets ADD COLUMN requirements_paths text[] NOT NULL DEFAULT '{}'
    CHECK (array_position(requirements_paths, '') IS NULL);
UPDATE targets t
   SET requirements_paths = ARRAY(
       SELECT DISTINCT p FROM (
           SELECT 'requirements/edx/base.txt' AS p WHERE t.kind = 'platform'
           UNION SELECT path FROM requirement_files f WHERE f.target_id = t.id AND path !~ '^/'
       ) paths ORDER BY p)
 WHERE t.kind <> 'dependency';

-- What a webhook delivery led to, for /admin: "scan queued", "ignored: not the default
-- branch", "refused: ...".
ALTER TABLE gh_deliveries ADD COLUMN outcome text;

-- What each running job is doing now, by the job's key (one active job per key): written
-- outside the job's transaction so that /admin sees it while the job runs.
CREATE TABLE job_activity (
    job_key    text PRIMARY KEY CHECK (job_key <> ''),
    step       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
