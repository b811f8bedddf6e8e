//! Recording scans: [`db::ingest`] does the work; the server times each ingestion for
//! `/metrics`.

pub use db::ingest::{dependency_api_index, IncomingFinding, IngestSummary, ScanInput};
/// What every scan Unthread records computes beyond the findings: each module's imports (for
/// reachability), when each finding's code runs, and the rules that need that call graph
/// (UT013) — keeping the writes whose time is unknown in their own package, which calls
/// from other targets may place at request time (`db::models::runs_at_via`).
pub fn recorded_scan_options() -> scanner::ScanOptions {
    scanner::ScanOptions {
        import_index: true,
        runs_at: true,
        call_graph_rules: true,
        unknown_time_writes: true,
        ..Default::default()
    }
}

/// [`db::ingest::ingest`], timed (`unthread_scan_ingest_duration_seconds`).
pub async fn ingest(pool: &sqlx::PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, db::ingest::ingest(pool, input)).await
}

/// [`db::ingest::ingest_in`] (inside a job's transaction), timed the same way.
pub async fn ingest_in(conn: &mut sqlx::PgConnection, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, db::ingest::ingest_in(conn, input)).await
}
