//! GitHub: the epic's issues, sub-issues and pull requests, kept in Postgres by a sync job
//! (conditional, rate-limit aware requests through octocrab) and by verified webhooks.

pub mod client;
pub mod comments;
pub mod linking;
pub mod model;
pub mod pulls;
pub mod refs;
pub mod store;
pub mod sync;
pub mod webhook;

pub use client::{GitHub, GitHubError};
pub use model::{IssueRef, PullRequest};
