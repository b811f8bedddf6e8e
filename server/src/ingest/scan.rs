//! Recording scans: [`db::ingest`] does the work; the server times each ingestion for
//! `/metrics`.

pub use db::ingest::{dependency_api_index, IncomingFinding, IngestSummary, ScanInput};
use sqlx::PgPool;

/// [`db::ingest::ingest`], timed (`unthread_scan_ingest_duration_seconds`).
pub async fn ingest(pool: &PgPool, input: &ScanInput) -> sqlx::Result<IngestSummary> {
    crate::metrics::timed(crate::metrics::INGEST_DURATION, db::ingest::ingest(pool, input)).await
}
