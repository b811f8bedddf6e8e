-- Repositories are tracked from GitHub without a checkout (`unthread track`, `--repo`,
-- /admin) and can stop being tracked: their history stays, no scan is queued for them any
-- more, and pushes to them are ignored.
ALTER TABLE targets ADD COLUMN tracking_stopped_at timestamptz;
