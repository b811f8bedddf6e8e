-- Dependencies, scans and findings (DESIGN.md §3). The rules that progress depends on are
-- enforced here, not only in code: one finding per fingerprint and target, consistent scan
-- states, and history that points at real rows.

-- A PyPI distribution, by its PEP 503 normalised name.
CREATE TABLE packages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A pip-compile output imported for a repository, e.g. requirements/edx/base.txt.
CREATE TABLE requirement_files (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id   bigint NOT NULL REFERENCES targets (id),
    path        text NOT NULL CHECK (path <> ''),
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (target_id, path)
);

-- What a requirements file pins. A pin has a version on the index or a direct reference
-- (git+https://...), never both.
CREATE TABLE package_pins (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requirement_file_id bigint NOT NULL REFERENCES requirement_files (id) ON DELETE CASCADE,
    package_id          bigint NOT NULL REFERENCES packages (id),
    version             text CHECK (version <> ''),
    direct_url          text CHECK (direct_url <> ''),
    extras              text[] NOT NULL DEFAULT '{}',
    marker              text,
    line                integer NOT NULL CHECK (line > 0),
    CONSTRAINT package_pins_version_or_url CHECK ((version IS NULL) <> (direct_url IS NULL)),
    UNIQUE NULLS NOT DISTINCT (requirement_file_id, package_id, marker)
);
CREATE INDEX package_pins_package_idx ON package_pins (package_id);

-- pip-compile's `# via`: `child` is pulled in by package `parent`, or listed in `via_file`
-- (`-r requirements/edx/kernel.in`, `-c requirements/constraints.txt`).
CREATE TABLE package_edges (
    requirement_file_id bigint NOT NULL REFERENCES requirement_files (id) ON DELETE CASCADE,
    parent_package_id   bigint REFERENCES packages (id),
    child_package_id    bigint NOT NULL REFERENCES packages (id),
    via_file            text CHECK (via_file ~ '^-[rc] .+'),
    CONSTRAINT package_edges_parent_or_file CHECK ((parent_package_id IS NULL) <> (via_file IS NULL)),
    CONSTRAINT package_edges_no_self_loop CHECK (parent_package_id IS DISTINCT FROM child_package_id),
    UNIQUE NULLS NOT DISTINCT (requirement_file_id, parent_package_id, child_package_id, via_file)
);
CREATE INDEX package_edges_parent_idx ON package_edges (parent_package_id);
CREATE INDEX package_edges_child_idx ON package_edges (child_package_id);

-- Which package a target is: the distribution a repository publishes, or the dependency
-- target scanned from the index. A package belongs to at most one target.
CREATE TABLE target_packages (
    target_id  bigint NOT NULL REFERENCES targets (id),
    package_id bigint NOT NULL UNIQUE REFERENCES packages (id),
    PRIMARY KEY (target_id, package_id)
);

CREATE TABLE scans (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id     bigint NOT NULL REFERENCES targets (id),
    -- Commit sha for repositories, version for dependencies.
    revision      text,
    tool          text NOT NULL CHECK (tool <> ''),
    tool_version  text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    files_scanned integer NOT NULL DEFAULT 0 CHECK (files_scanned >= 0),
    files_failed  integer NOT NULL DEFAULT 0 CHECK (files_failed >= 0),
    status        text NOT NULL CHECK (status IN ('running', 'complete', 'partial', 'failed')),
    -- Digest of what was ingested, so that re-ingesting the same results is recognised.
    content_digest text,
    CONSTRAINT scans_finished_unless_running CHECK ((status = 'running') = (finished_at IS NULL)),
    CONSTRAINT scans_finish_after_start CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX scans_target_idx ON scans (target_id, started_at DESC, id DESC);

-- Files a scan could not read: their findings stay as they were.
CREATE TABLE scan_unread_files (
    scan_id bigint NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    path    text NOT NULL,
    reason  text NOT NULL,
    PRIMARY KEY (scan_id, path)
);

CREATE TABLE findings (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id           bigint NOT NULL REFERENCES targets (id),
    fingerprint         text NOT NULL CHECK (fingerprint <> ''),
    -- Identity without path and module: follows a finding across a file rename.
    content_fingerprint text,
    rule                text NOT NULL CHECK (rule ~ '^[A-Za-z0-9_./:-]+$'),
    path                text NOT NULL CHECK (path <> '' AND path !~ '(^|/)\.\.(/|$)' AND left(path, 1) <> '/'),
    start_line          integer NOT NULL CHECK (start_line > 0),
    start_column        integer NOT NULL DEFAULT 1 CHECK (start_column > 0),
    end_line            integer NOT NULL CHECK (end_line >= start_line),
    end_column          integer NOT NULL DEFAULT 1 CHECK (end_column > 0),
    symbol              text,
    message             text NOT NULL DEFAULT '',
    snippet             text,
    conditional         boolean NOT NULL DEFAULT false,
    first_seen_scan     bigint NOT NULL REFERENCES scans (id),
    last_seen_scan      bigint NOT NULL REFERENCES scans (id),
    fixed_in_scan       bigint REFERENCES scans (id),
    triage              text NOT NULL DEFAULT 'open'
                        CHECK (triage IN ('open', 'confirmed', 'false_positive', 'wont_fix')),
    triage_reason       text,
    UNIQUE (target_id, fingerprint),
    CONSTRAINT findings_reason_when_triaged_away
        CHECK (triage NOT IN ('false_positive', 'wont_fix') OR coalesce(btrim(triage_reason), '') <> '')
)
-- Every scan rewrites each finding's last_seen_scan; free space on each page lets those
-- updates stay on the page without touching the indexes (HOT updates).
WITH (fillfactor = 75);
-- The explorer's and the progress queries' access paths.
CREATE INDEX findings_open_by_target_idx ON findings (target_id, rule) WHERE fixed_in_scan IS NULL;
CREATE INDEX findings_open_by_rule_idx ON findings (rule, target_id) WHERE fixed_in_scan IS NULL;
CREATE INDEX findings_triage_idx ON findings (triage, target_id) WHERE triage <> 'open';
CREATE INDEX findings_content_idx ON findings (target_id, content_fingerprint) WHERE content_fingerprint IS NOT NULL;
CREATE INDEX findings_path_idx ON findings (target_id, path);

ALTER TABLE events
    ADD COLUMN finding_id bigint REFERENCES findings (id),
    ADD COLUMN scan_id    bigint REFERENCES scans (id);
CREATE INDEX events_finding_idx ON events (finding_id, at) WHERE finding_id IS NOT NULL;
CREATE INDEX events_scan_idx ON events (scan_id) WHERE scan_id IS NOT NULL;
