//! Posting a week's report to the epic on GitHub. The GitHub client lives in the server
//! crate, which hands the application a [`Publisher`]; the page's server function and the
//! command line reach the same code through it.

use std::{future::Future, pin::Pin};

/// How a post treats a report already posted for the same week to the same issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PostMode {
    /// Refuse: each week is posted once.
    Once,
    /// Edit the comment posted earlier (post one if there is none).
    Update,
    /// Post another comment anyway.
    Force,
}

impl PostMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "once" | "" => Some(Self::Once),
            "update" => Some(Self::Update),
            "force" => Some(Self::Force),
            _ => None,
        }
    }
}

/// What a post did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Posted {
    /// `posted`, `updated` or `unchanged` (an update with the same text sends nothing).
    pub action: String,
    /// The comment on GitHub.
    pub url: String,
}

/// Why a post did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishError {
    /// The week was posted already (mode `Once`): not a failure of GitHub's.
    pub conflict: bool,
    pub message: String,
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type PublishFuture<'a> = Pin<Box<dyn Future<Output = Result<Posted, PublishError>> + Send + 'a>>;

pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// The issue reports go to (`owner/repo#number`), for the page to show.
    fn destination(&self) -> String;
    /// Posts `markdown`, the report of `week`, as `by` (a maintainer's login).
    fn publish<'a>(
        &'a self,
        week: &'a str,
        markdown: &'a str,
        mode: PostMode,
        by: Option<&'a str>,
    ) -> PublishFuture<'a>;
}
