//! How far along something is, counted from findings (see `finding_progress`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub open: i64,
    pub fixed: i64,
    pub migrated: i64,
    pub triaged_away: i64,
}

impl Progress {
    /// Items that count: done plus open (triaged-away items are shown apart).
    pub fn total(&self) -> i64 {
        self.open + self.fixed + self.migrated
    }

    /// Share done, 0–100; 100 for a target with nothing to do.
    pub fn percent_done(&self) -> f64 {
        match self.total() {
            0 => 100.0,
            total => 100.0 * (self.fixed + self.migrated) as f64 / total as f64,
        }
    }
}
