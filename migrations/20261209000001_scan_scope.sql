-- A scan that read only some files of its target on purpose (the demo reads the few files of
-- openedx-platform that the epic's items point at): which files, and why. NULL: the whole
-- tree. Such a scan speaks only for those files: findings elsewhere are left as they were,
-- and every page showing the target's progress says what was read.
ALTER TABLE scans
    ADD COLUMN scope_paths text[],
    ADD COLUMN scope_why text,
    ADD CONSTRAINT scans_scope_whole CHECK ((scope_paths IS NULL) = (scope_why IS NULL)),
    ADD CONSTRAINT scans_scope_why_short CHECK (scope_why IS NULL OR length(scope_why) <= 200);
