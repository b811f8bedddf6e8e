-- Each repository's owner team, as its own files say (catalog-info.yaml's spec.owner, else
-- CODEOWNERS' catch-all rule), read from the archive of its last scan.
ALTER TABLE targets
    ADD COLUMN owner_team        text CHECK (owner_team IS NULL OR (owner_team <> '' AND length(owner_team) <= 200)),
    ADD COLUMN owner_team_source text CHECK (owner_team_source IS NULL OR owner_team_source IN
                                   ('catalog-info.yaml', 'CODEOWNERS', '.github/CODEOWNERS', 'docs/CODEOWNERS')),
    ADD CONSTRAINT targets_owner_team_has_source CHECK ((owner_team IS NULL) = (owner_team_source IS NULL));
CREATE INDEX targets_owner_team_idx ON targets (owner_team) WHERE owner_team IS NOT NULL;

-- Active claims on items with open findings and no activity (an event on the finding, or the
-- claim itself) for `days` days: work someone holds but does not do.
CREATE FUNCTION stale_claims(days integer)
RETURNS TABLE (claim_id bigint, owner_id bigint, target_id bigint, finding_id bigint,
               claimed_at timestamptz, last_activity timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.owner_id, coalesce(c.target_id, f.target_id), c.finding_id, c.claimed_at, a.last_activity
    FROM claims c
    LEFT JOIN findings f ON f.id = c.finding_id
    CROSS JOIN LATERAL (
        SELECT greatest(c.claimed_at,
                        (SELECT max(e.at) FROM events e
                         WHERE (c.finding_id IS NOT NULL AND e.finding_id = c.finding_id)
                            OR (c.target_id IS NOT NULL AND e.target_id = c.target_id AND e.kind <> 'scan.ingested'))) AS last_activity
    ) a
    WHERE c.released_at IS NULL
      AND a.last_activity < now() - make_interval(days => days)
      AND (CASE WHEN c.finding_id IS NOT NULL THEN f.fixed_in_scan IS NULL
                ELSE EXISTS (SELECT 1 FROM findings tf WHERE tf.target_id = c.target_id AND tf.fixed_in_scan IS NULL) END)
$$;
