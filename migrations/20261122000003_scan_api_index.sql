-- The thread-local-backed APIs a scan found in its target (scanner's API index, JSON): scans
-- of the target's dependents read the latest one of each dependency (rule UT011).
ALTER TABLE scans ADD COLUMN api_index jsonb;
