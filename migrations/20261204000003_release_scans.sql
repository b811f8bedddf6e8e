-- Upgrade advice: scans of a dependency's newer releases (the newest, and the newest of the
-- pinned major version), kept apart from its findings — a release nobody pins fixes
-- nothing — and compared with the pinned version's open findings by fingerprint.
CREATE TABLE release_scans (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id            bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    version              text NOT NULL CHECK (version <> ''),
    -- The newest release, and/or the newest of the pinned major version.
    newest               boolean NOT NULL,
    newest_in_major      boolean NOT NULL,
    scanned_at           timestamptz NOT NULL DEFAULT now(),
    -- From the release's core metadata: shown, never taken as a promise of compatibility.
    requires_python      text,
    requires_dist        text[] NOT NULL DEFAULT '{}',
    -- https://github.com/owner/repo from its Project-URL / Home-page, when one is GitHub.
    upstream             text,
    fingerprints         text[] NOT NULL,
    content_fingerprints text[] NOT NULL,
    UNIQUE (target_id, version)
);

-- When a dependency's releases were last looked up, and what the index had.
CREATE TABLE release_checks (
    target_id  bigint PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    checked_at timestamptz NOT NULL DEFAULT now(),
    pinned     text,
    newest     text
);
