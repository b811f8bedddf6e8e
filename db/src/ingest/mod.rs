//! Writing scans into PostgreSQL (see `docs/architecture.md`): a scan's findings are matched
//! in memory against what the target has ([`matching`], pure code), then the outcome is
//! written with a few bulk statements in one transaction ([`scan`]), so a failure leaves the
//! database as it was.

mod copy_text;
pub mod incoming;
pub mod matching;
mod retired;
pub mod scan;
mod suppressions;

pub use incoming::{IncomingFinding, IngestSummary, RunsAtPathColumn, ScanInput, ScanScope, StoredRunsAtPath};
pub use scan::{dependency_api_index, ingest, ingest_in};
