-- The fix a scan offers for a finding (`unthread-scan --fix`, SARIF `fixes`): what it does,
-- whether it is safe, and its edits as regions of the scanned file (`db::views::FixView`).
-- Kept so that pages show it and pull requests can be opened from it.
ALTER TABLE findings ADD COLUMN fix jsonb CHECK (fix IS NULL OR jsonb_typeof(fix) = 'object');
