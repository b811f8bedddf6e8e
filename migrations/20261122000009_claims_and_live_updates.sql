-- Who owns what (DESIGN.md §3 `claims`), and the notifications that keep open browsers live.

-- An owner of one finding, or of a whole target (which covers its findings unless a finding
-- has its own owner). A claim is never deleted: releasing it sets `released_at`, so history
-- and the weekly report can tell who owned what when.
CREATE TABLE claims (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id  bigint REFERENCES findings (id),
    target_id   bigint REFERENCES targets (id),
    owner_id    bigint NOT NULL REFERENCES users (id),
    -- The owner (a claim) or the maintainer who assigned it.
    claimed_by  bigint NOT NULL REFERENCES users (id),
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    released_by bigint REFERENCES users (id),
    CHECK (num_nonnulls(finding_id, target_id) = 1),
    CHECK ((released_at IS NULL) = (released_by IS NULL)),
    CHECK (released_at IS NULL OR released_at >= claimed_at)
);
-- At most one active owner per item: of two people claiming at the same moment, the
-- second insert fails on these indexes, whatever the application does.
CREATE UNIQUE INDEX claims_one_owner_per_finding ON claims (finding_id) WHERE released_at IS NULL AND finding_id IS NOT NULL;
CREATE UNIQUE INDEX claims_one_owner_per_target ON claims (target_id) WHERE released_at IS NULL AND target_id IS NOT NULL;
CREATE INDEX claims_active_by_owner_idx ON claims (owner_id) WHERE released_at IS NULL;

-- Each finding's owner in Unthread: its own active claim, else its target's.
CREATE VIEW finding_owners AS
SELECT f.id AS finding_id,
       coalesce(fc.owner_id, tc.owner_id) AS owner_id,
       coalesce(fc.claimed_at, tc.claimed_at) AS claimed_at,
       fc.id IS NULL AND tc.id IS NOT NULL AS through_target
FROM findings f
LEFT JOIN claims fc ON fc.finding_id = f.id AND fc.released_at IS NULL
LEFT JOIN claims tc ON tc.target_id = f.target_id AND tc.released_at IS NULL
WHERE fc.id IS NOT NULL OR tc.id IS NOT NULL;

-- The user search of "Assign to…".
CREATE INDEX users_login_lower_idx ON users (lower(login) text_pattern_ops);

-- The explorer's keyset order within a rule or a target.
CREATE INDEX findings_rule_id_idx ON findings (rule, id);
CREATE INDEX findings_target_id_idx ON findings (target_id, id);

-- Every event is announced on channel `unthread_events` when its transaction commits, so
-- every server process (each LISTENs) can push it to its browsers. The payload stays far
-- below NOTIFY's 8000-byte limit: ids and kind only, never the finding id arrays.
CREATE FUNCTION announce_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('unthread_events', json_build_object(
        'id', NEW.id, 'kind', NEW.kind, 'target_id', NEW.target_id, 'finding_id', NEW.finding_id
    )::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_announce AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION announce_event();
