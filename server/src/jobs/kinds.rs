//! The kinds of background job, as closed set of labels: what the queue stores in each job
//! (`JobSpec::kind`) and what metrics may label a job with (anything else is "other").

/// Every kind, as [`super::queue::JobSpec::kind`] names them.
pub const KINDS: [&str; 11] = [
    "scan_repository",
    "track_repository",
    "scan_dependency",
    "register_requirements",
    "github_sync",
    "weekly_report",
    "sweep",
    "reachability",
    "check_upgrades",
    "open_change",
    "noop",
];

/// `kind` if it is one of [`KINDS`] (as a static label), else `other`.
pub fn known_kind(kind: &str) -> &'static str {
    KINDS.iter().find(|k| **k == kind).copied().unwrap_or("other")
}
