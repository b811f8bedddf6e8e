//! Recording scans: [`db::ingest`] does the work; the server times each ingestion for
//! `/metrics`.

pub use db::ingest::{dependency_api_index, IncomingFinding, IngestSummary, ScanInput};
/// [`db::ingest::ingest`], timed (`unthread_scan_ingest_duration_seconds`).
pub async fn ingest(pool: &sqlx::PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, db::ingest::ingest(pool, input)).await
}

/// [`db::ingest::ingest_in`] (inside a job's transaction), timed the same way.
pub async fn ingest_in(conn: &mut sqlx::PgConnection, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, db::ingest::ingest_in(conn, input)).await
}
