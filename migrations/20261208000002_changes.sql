-- Changes: the pull requests Unthread opens — a *fix* change carries the scanner's fixes of
-- chosen findings of one repository, a *bump* change moves one pin of a watched requirements
-- file. A change is asked for (queued), opened by a job (open: its pull request exists), and
-- then follows its pull request (merged / closed) as the GitHub sync and webhooks store it;
-- it can also end without a pull request (failed, with the reason; cancelled, when its
-- findings were fixed or gone before it ran). Every state change is an event.
CREATE TABLE changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('fix', 'bump')),
    -- The repository the pull request is opened in.
    target_id bigint NOT NULL REFERENCES targets(id),
    -- A fix change for every fixable open finding of one rule ("Fix all UT012").
    rule text CHECK (rule ~ '^[A-Za-z0-9_./:-]+$'),
    unsafe_fixes boolean NOT NULL DEFAULT false,
    -- A bump change: the dependency, the pin's versions and the requirements file.
    dependency_id bigint REFERENCES targets(id),
    from_version text,
    to_version text,
    requirements_path text,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'open', 'merged', 'closed', 'failed', 'cancelled')),
    -- What was asked, as one text: a second identical request while one is queued or open
    -- gets that one (a double click, a retried POST).
    request_key text NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- What the job made: the branch, the commit it starts from, the combined diff.
    branch text,
    base_commit text CHECK (base_commit ~ '^[0-9a-f]{7,64}$'),
    diff text,
    pull_id bigint REFERENCES gh_pulls(id) ON UPDATE CASCADE,
    pull_number integer CHECK (pull_number > 0),
    pull_url text,
    -- Why it failed or was cancelled.
    reason text,
    CHECK ((kind = 'bump') = (dependency_id IS NOT NULL AND to_version IS NOT NULL AND requirements_path IS NOT NULL)),
    CHECK (kind = 'fix' OR rule IS NULL),
    CHECK (state NOT IN ('failed', 'cancelled') OR coalesce(btrim(reason), '') <> ''),
    CHECK (state NOT IN ('open', 'merged', 'closed') OR pull_number IS NOT NULL)
);

CREATE UNIQUE INDEX changes_one_live_request ON changes (request_key) WHERE state IN ('queued', 'open');
CREATE INDEX changes_target_idx ON changes (target_id, requested_at DESC);
CREATE INDEX changes_pull_idx ON changes (pull_id) WHERE pull_id IS NOT NULL;

-- The findings a change addresses (a bump's: those the new release clears).
CREATE TABLE change_findings (
    change_id bigint NOT NULL REFERENCES changes(id),
    finding_id bigint NOT NULL REFERENCES findings(id),
    PRIMARY KEY (change_id, finding_id)
);
CREATE INDEX change_findings_finding_idx ON change_findings (finding_id);
