//! Maintainers' actions on the job queue, shared by the pages' server functions and the REST
//! API. Rescans need the queue itself, which lives in the server crate: it hands the
//! application a [`Rescans`]. Retry and cancel are plain changes to the queue's rows.

use std::{future::Future, pin::Pin};

pub use db::views::QueuedJob;

pub type RescanFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<QueuedJob>, crate::error::AppError>> + Send + 'a>>;

pub type TrackFuture<'a> = Pin<Box<dyn Future<Output = Result<String, crate::error::AppError>> + Send + 'a>>;

/// Queues the rescans of one target, ahead of other work, on behalf of `by`; tracks and
/// stops tracking repositories from GitHub (each answers what it did, in words).
pub trait Rescans: Send + Sync + std::fmt::Debug {
    fn rescan<'a>(&'a self, target_id: i64, by: &'a str) -> RescanFuture<'a>;
    fn track<'a>(&'a self, repository: &'a str, by: &'a str) -> TrackFuture<'a>;
    fn untrack<'a>(&'a self, repository: &'a str, by: &'a str) -> TrackFuture<'a>;
}

/// A maintainer's retry of a failed or cancelled job: one more attempt.
pub async fn retry(pool: &sqlx::PgPool, id: uuid::Uuid, by: &str) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    use db::models::jobs::Change;
    match db::models::jobs::retry(pool, id).await? {
        Change::Done => {
            tracing::info!(by, job = %id, "job retried");
            Ok(())
        }
        Change::Missing => Err(AppError::not_found(format!("no job {id}"))),
        Change::NotApplicable => Err(AppError::conflict("only a failed or cancelled job can be retried")),
        Change::Duplicate => Err(AppError::conflict("the same work is already queued or running")),
    }
}

/// A maintainer's cancel of a job that has not started.
pub async fn cancel(pool: &sqlx::PgPool, id: uuid::Uuid, by: &str) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    use db::models::jobs::Change;
    match db::models::jobs::cancel(pool, id).await? {
        Change::Done => {
            tracing::info!(by, job = %id, "job cancelled");
            Ok(())
        }
        Change::Missing => Err(AppError::not_found(format!("no job {id}"))),
        _ => Err(AppError::conflict("only a waiting job can be cancelled; a running one finishes its attempt")),
    }
}
