//! Long-running work that commands (and later the server's job runner) start.

pub mod dependency_scan;
pub mod github_sync;
pub mod weekly_report;
