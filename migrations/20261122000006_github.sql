-- GitHub's view of the migration: the epic's issues and sub-issues, the pull requests that
-- fix them, and how each is linked to findings and targets.

-- Issues (never pull requests), keyed by GitHub's id. `parent_repository`/`parent_number`
-- name the issue this one is a sub-issue of (the parent may be synced later, so no FK).
CREATE TABLE gh_issues (
    id                bigint PRIMARY KEY,
    repository        text NOT NULL CHECK (repository ~ '^[^/\s]+/[^/\s]+$'),
    number            integer NOT NULL CHECK (number > 0),
    title             text NOT NULL,
    body              text,
    state             text NOT NULL CHECK (state IN ('open', 'closed')),
    state_reason      text,
    html_url          text NOT NULL,
    author            text,
    assignees         text[] NOT NULL DEFAULT '{}',
    labels            text[] NOT NULL DEFAULT '{}',
    parent_repository text,
    parent_number     integer,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    closed_at         timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository, number),
    CHECK ((parent_repository IS NULL) = (parent_number IS NULL))
);
CREATE INDEX gh_issues_parent_idx ON gh_issues (parent_repository, parent_number) WHERE parent_number IS NOT NULL;

CREATE TABLE gh_pulls (
    id          bigint PRIMARY KEY,
    repository  text NOT NULL CHECK (repository ~ '^[^/\s]+/[^/\s]+$'),
    number      integer NOT NULL CHECK (number > 0),
    title       text NOT NULL,
    body        text,
    state       text NOT NULL CHECK (state IN ('open', 'closed')),
    draft       boolean NOT NULL DEFAULT false,
    merged      boolean NOT NULL DEFAULT false,
    merged_at   timestamptz,
    html_url    text NOT NULL,
    author      text,
    assignees   text[] NOT NULL DEFAULT '{}',
    labels      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    -- Files the pull request changes (from /pulls/{n}/files), for linking by path.
    files       text[],
    synced_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository, number),
    CHECK (NOT merged OR merged_at IS NOT NULL)
);

-- A finding or a target linked to an issue or a pull request, and how the link was made.
-- A removed link stays, marked removed, so that the next sync does not bring it back.
CREATE TABLE links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id  bigint REFERENCES findings (id),
    target_id   bigint REFERENCES targets (id),
    issue_id    bigint REFERENCES gh_issues (id),
    pull_id     bigint REFERENCES gh_pulls (id),
    how         text NOT NULL CHECK (how IN ('explicit', 'mention', 'path', 'sub_issue', 'manual')),
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    removed_by  text,
    removed_at  timestamptz,
    CHECK (num_nonnulls(finding_id, target_id) = 1),
    CHECK (num_nonnulls(issue_id, pull_id) = 1),
    CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
    UNIQUE NULLS NOT DISTINCT (finding_id, target_id, issue_id, pull_id)
);
CREATE INDEX links_finding_idx ON links (finding_id) WHERE finding_id IS NOT NULL;
CREATE INDEX links_target_idx ON links (target_id) WHERE target_id IS NOT NULL;
CREATE INDEX links_issue_idx ON links (issue_id) WHERE issue_id IS NOT NULL;
CREATE INDEX links_pull_idx ON links (pull_id) WHERE pull_id IS NOT NULL;

-- Conditional requests: the ETag and body of the last 200 for each URL. A 304 answer reuses
-- the body and costs no rate limit. Written after the data it carried is stored, so a sync
-- that stops half-way fetches again whatever it had not stored.
CREATE TABLE gh_http_cache (
    url        text PRIMARY KEY,
    etag       text NOT NULL,
    link_next  text,
    body       bytea NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);

-- Webhook deliveries already handled (X-GitHub-Delivery): a replay changes nothing.
CREATE TABLE gh_deliveries (
    delivery_id text PRIMARY KEY CHECK (delivery_id <> ''),
    event       text NOT NULL,
    action      text,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One row per sync run, for the admin page and for `sync` to report its cost.
CREATE TABLE gh_sync_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    requests      integer NOT NULL DEFAULT 0,
    not_modified  integer NOT NULL DEFAULT 0,
    rate_limited  integer NOT NULL DEFAULT 0,
    retries       integer NOT NULL DEFAULT 0,
    error         text
);
