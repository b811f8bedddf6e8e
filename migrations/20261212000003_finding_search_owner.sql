-- The explorer's counts group findings by owner: reading the owner of a finding's own active
-- claim from `claims` cost a hash of every active claim per search (a third of a broad
-- search's time). `finding_search.owner_id` keeps it beside the rest, set by a trigger on
-- claims (a claim, an assignment, a release); a target's claim still comes from `claims`.
ALTER TABLE finding_search ADD COLUMN owner_id bigint;
UPDATE finding_search s SET owner_id = c.owner_id
FROM claims c WHERE c.finding_id = s.id AND c.released_at IS NULL;

CREATE FUNCTION finding_search_owner_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    FOREACH changed IN ARRAY ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.finding_id END,
                                   CASE WHEN TG_OP <> 'DELETE' THEN NEW.finding_id END] LOOP
        CONTINUE WHEN changed IS NULL;
        UPDATE finding_search
        SET owner_id = (SELECT c.owner_id FROM claims c WHERE c.finding_id = changed AND c.released_at IS NULL)
        WHERE id = changed;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER claims_owner_to_finding_search AFTER INSERT OR UPDATE OR DELETE ON claims
    FOR EACH ROW EXECUTE FUNCTION finding_search_owner_sync();
