//! Asking for rescans from the pages. The job queue lives in the server crate, which hands
//! the application a [`Rescans`]; the "Rescan now" buttons and the REST API reach the same
//! code through it.

use std::{future::Future, pin::Pin};

pub use db::views::QueuedJob;

pub type RescanFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<QueuedJob>, crate::error::AppError>> + Send + 'a>>;

/// Queues the rescans of one target, ahead of other work, on behalf of `by`.
pub trait Rescans: Send + Sync + std::fmt::Debug {
    fn rescan<'a>(&'a self, target_id: i64, by: &'a str) -> RescanFuture<'a>;
}
