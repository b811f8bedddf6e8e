//! Maintainers' actions on the job queue, shared by the pages' server functions and the REST
//! API. Rescans need the queue itself, which lives in the server crate: it hands the
//! application a [`Rescans`]. Retry and cancel are plain changes to the queue's rows.

use std::{future::Future, pin::Pin};

pub use db::views::QueuedJob;

pub type RescanFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<QueuedJob>, crate::error::AppError>> + Send + 'a>>;

pub type TrackFuture<'a> = Pin<Box<dyn Future<Output = Result<String, crate::error::AppError>> + Send + 'a>>;

pub type ChangeFuture<'a> = Pin<Box<dyn Future<Output = Result<RequestedChange, crate::error::AppError>> + Send + 'a>>;

/// What a pull request should do (`POST /api/v1/changes`, the pages' buttons).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ChangeRequest {
    /// Fix these findings (one repository's).
    Findings {
        findings: Vec<i64>,
        #[serde(default, rename = "unsafe")]
        unsafe_fixes: bool,
    },
    /// Fix every fixable open finding of `rule` in `target`.
    Rule {
        target: String,
        rule: String,
        #[serde(default, rename = "unsafe")]
        unsafe_fixes: bool,
    },
    /// Move the pin of dependency `bump` to the release its advice names, in the requirements
    /// files of `target` (needed only when several repositories pin it).
    Bump {
        bump: String,
        #[serde(default)]
        target: Option<String>,
    },
}

/// A request's change, and whether it is new or the one already queued or open for the
/// same request (a double click).
#[derive(Clone, Debug)]
pub struct RequestedChange {
    pub change: db::views::ChangeView,
    pub new: bool,
}

/// Queues the rescans of one target, ahead of other work, on behalf of `by`; tracks and
/// stops tracking repositories from GitHub (each answers what it did, in words); queues the
/// pull requests of changes.
pub trait Rescans: Send + Sync + std::fmt::Debug {
    fn rescan<'a>(&'a self, target_id: i64, by: &'a str) -> RescanFuture<'a>;
    fn track<'a>(&'a self, repository: &'a str, by: &'a str) -> TrackFuture<'a>;
    fn untrack<'a>(&'a self, repository: &'a str, by: &'a str) -> TrackFuture<'a>;
    /// Checks `request` (what it selects, and that `by` may ask for it) and queues its
    /// change.
    fn request_change<'a>(&'a self, request: &'a ChangeRequest, by: &'a db::models::users::User) -> ChangeFuture<'a>;
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
