//! How far along something is, counted from findings by the one scope every page, export and
//! report uses (`finding_progress.counts_as`, defined in the migrations):
//!
//! - *in scope*: findings that need work (every rule but UT100) outside test code;
//! - *done*: fixed, plus triaged away (false positive / won't fix), which is shown apart;
//! - *migrated*: UT100 — a context variable already in place — is information, never progress;
//! - *open in tests*: findings in test code, counted apart and out of the scope.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// In scope, not fixed, not triaged away.
    pub open: i64,
    /// In scope, no longer seen by a later complete scan.
    pub fixed: i64,
    /// In scope, triaged false positive or won't fix.
    pub triaged_away: i64,
    /// UT100 places (context variables already in place), outside tests: information.
    pub migrated: i64,
    /// Open findings in test code: out of the scope, counted apart.
    pub tests_open: i64,
}

impl Progress {
    /// Everything in scope: open, fixed and triaged away.
    pub fn total(&self) -> i64 {
        self.open + self.fixed + self.triaged_away
    }

    /// Fixed plus triaged away.
    pub fn done(&self) -> i64 {
        self.fixed + self.triaged_away
    }

    /// Share done (fixed + triaged away), 0–100; `None` when nothing is in scope — there is
    /// nothing to be done, which is not the same as finished.
    pub fn percent_done(&self) -> Option<f64> {
        match self.total() {
            0 => None,
            total => Some(100.0 * self.done() as f64 / total as f64),
        }
    }

    /// Share fixed in code, 0–100; `None` when nothing is in scope.
    pub fn percent_fixed(&self) -> Option<f64> {
        match self.total() {
            0 => None,
            total => Some(100.0 * self.fixed as f64 / total as f64),
        }
    }

    /// Adds a finding counted as `bucket` (`finding_progress.counts_as`).
    pub fn count(&mut self, bucket: &str) {
        match bucket {
            "open" => self.open += 1,
            "fixed" => self.fixed += 1,
            "triaged_away" => self.triaged_away += 1,
            "migrated" => self.migrated += 1,
            "tests_open" => self.tests_open += 1,
            _ => {}
        }
    }

    pub fn add(&mut self, other: &Progress) {
        self.open += other.open;
        self.fixed += other.fixed;
        self.triaged_away += other.triaged_away;
        self.migrated += other.migrated;
        self.tests_open += other.tests_open;
    }
}

/// A percentage for people: one decimal below 10 % (0.1 %, not 0 %), whole above; never
/// rounded up to 100 % while something is left, nor down to 0 % once something is done.
pub fn percent_text(done: i64, total: i64) -> String {
    if total <= 0 {
        return "–".to_owned();
    }
    let percent = 100.0 * done as f64 / total as f64;
    let text = if percent < 10.0 { format!("{percent:.1}") } else { format!("{percent:.0}") };
    match text.as_str() {
        "100" if done < total => "99".to_owned(),
        "0.0" if done > 0 => "<0.1".to_owned(),
        "0.0" => "0".to_owned(),
        _ => text,
    }
}

/// 12,345: counts as people read them.
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_in_scope_is_not_done() {
        let p = Progress { migrated: 28, tests_open: 4, ..Default::default() };
        assert_eq!(p.total(), 0);
        assert_eq!(p.percent_done(), None);
    }

    #[test]
    fn done_is_fixed_and_triaged_away_and_migrated_is_not_progress() {
        let p = Progress { open: 1350, fixed: 2, triaged_away: 2, migrated: 28, tests_open: 0 };
        assert_eq!(p.total(), 1354);
        assert_eq!(p.done(), 4);
        assert!((p.percent_fixed().unwrap() - 0.1477).abs() < 1e-3);
    }

    #[test]
    fn percentages_never_claim_more_than_is_true() {
        assert_eq!(percent_text(2, 1354), "0.1");
        assert_eq!(percent_text(1, 100_000), "<0.1");
        assert_eq!(percent_text(0, 10), "0");
        assert_eq!(percent_text(999, 1000), "99");
        assert_eq!(percent_text(10, 10), "100");
        assert_eq!(percent_text(1, 3), "33");
        assert_eq!(percent_text(0, 0), "–");
    }

    #[test]
    fn buckets_count_where_the_view_says() {
        let mut p = Progress::default();
        for bucket in ["open", "open", "fixed", "triaged_away", "migrated", "tests_open", "uncounted"] {
            p.count(bucket);
        }
        assert_eq!(p, Progress { open: 2, fixed: 1, triaged_away: 1, migrated: 1, tests_open: 1 });
    }
}
