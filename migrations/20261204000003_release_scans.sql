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
    -- rule, file name and trimmed source line of each finding (release_finding_key): the same
    -- finding when a release moves its files (an sdist's src/ layout, a wheel without it)
    -- and its fingerprints change with the path and module.
    loose_keys           text[] NOT NULL DEFAULT '{}',
    UNIQUE (target_id, version)
);

-- When a dependency's releases were last looked up, and what the index had.
CREATE TABLE release_checks (
    target_id  bigint PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    checked_at timestamptz NOT NULL DEFAULT now(),
    pinned     text,
    newest     text
);

-- The loose identity of a finding across releases (see release_scans.loose_keys).
CREATE FUNCTION release_finding_key(rule text, path text, line text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN rule || ':' || regexp_replace(path, '^.*/', '') || ':' || btrim(coalesce(line, ''), E' \t');

-- Whether release scan `rs` still has finding `f`: its fingerprint, content fingerprint or
-- loose key is there.
CREATE FUNCTION release_has(rs release_scans, f findings) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN f.fingerprint = ANY(rs.fingerprints)
        OR (f.content_fingerprint IS NOT NULL AND f.content_fingerprint = ANY(rs.content_fingerprints))
        OR release_finding_key(f.rule, f.path, f.snippet) = ANY(rs.loose_keys);
