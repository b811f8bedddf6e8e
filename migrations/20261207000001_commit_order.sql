-- What Unthread knows of the order of a repository's commits, so that a scan of an older
-- commit that finishes after a newer one never becomes the repository's latest state.
-- Filled from two sources: each push to the default branch (`before` → `after`: GitHub's
-- own statement that `after` follows `before`), and each archive scanned (`committed_at`:
-- `git archive` stamps every member with the commit's time).
CREATE TABLE repository_commits (
    target_id    bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    sha          text NOT NULL CHECK (sha ~ '^[0-9a-f]{40}$'),
    -- The commit the branch pointed at before the push that made this one its head.
    pushed_over  text CHECK (pushed_over IS NULL OR pushed_over ~ '^[0-9a-f]{40}$'),
    committed_at timestamptz,
    PRIMARY KEY (target_id, sha)
);
