-- A finding set aside by a suppression comment in its source (`# noqa: UT001`,
-- `# unthread: ignore[UT001] -- reason`): the scan that sees the comment triages it won't fix
-- with the comment's reason, and the scan that no longer sees it opens it again. Only while
-- this flag is set: a maintainer's own triage clears it, and wins.
ALTER TABLE findings ADD COLUMN triaged_in_source boolean NOT NULL DEFAULT false;
