-- What Unthread scans and tracks: a GitHub repository (owner/name) or a PyPI distribution.
CREATE TABLE targets (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('platform', 'library', 'dependency')),
    -- `owner/name` for repositories, the PEP 503 normalised distribution name for dependencies.
    name           text NOT NULL UNIQUE CHECK (name <> '' AND name = btrim(name)),
    default_branch text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- A repository name always has exactly one slash; a PyPI name never has one.
    CONSTRAINT targets_name_matches_kind CHECK (
        CASE WHEN kind = 'dependency'
             THEN position('/' IN name) = 0
             ELSE name ~ '^[^/]+/[^/]+$'
        END
    )
);

-- Append-only audit log of every change: the source of history charts and weekly reports.
CREATE TABLE events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    -- GitHub login of the person who acted, or NULL for the system (scans, sync).
    actor     text,
    kind      text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)+$'),
    target_id bigint REFERENCES targets (id),
    data      jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX events_at_idx ON events (at DESC, id DESC);
CREATE INDEX events_target_idx ON events (target_id, at DESC) WHERE target_id IS NOT NULL;

-- History must never be rewritten: reject UPDATE and DELETE on events in the database itself.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
