//! Writing issue comments (the weekly report). Unlike GETs these are not retried: a POST
//! that timed out may still have been made, and posting a report twice is worse than
//! reporting the failure and letting the maintainer try again.

use serde::Deserialize;

use super::{GitHub, GitHubError, IssueRef};

/// The fields of GitHub's comment object that Unthread keeps.
#[derive(Clone, Debug, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub html_url: String,
}

impl GitHub {
    /// `POST /repos/{owner}/{repo}/issues/{number}/comments`
    pub async fn create_comment(&self, issue: &IssueRef, body: &str) -> Result<Comment, GitHubError> {
        let route = format!("/repos/{}/issues/{}/comments", issue.repository, issue.number);
        self.write(&route, true, body).await
    }

    /// `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`
    pub async fn update_comment(&self, repository: &str, comment_id: u64, body: &str) -> Result<Comment, GitHubError> {
        let route = format!("/repos/{repository}/issues/comments/{comment_id}");
        self.write(&route, false, body).await
    }

    async fn write(&self, route: &str, create: bool, body: &str) -> Result<Comment, GitHubError> {
        let payload = serde_json::json!({ "body": body });
        self.counters.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result: Result<Comment, octocrab::Error> = if create {
            self.octocrab.post(route, Some(&payload)).await
        } else {
            self.octocrab.patch(route, Some(&payload)).await
        };
        result.map_err(|error| match error {
            octocrab::Error::GitHub { source, .. } => GitHubError::Status {
                url: self.url(route),
                status: source.status_code,
                message: source.message.clone(),
            },
            octocrab::Error::Serde { source, .. } => {
                GitHubError::Body { url: self.url(route), detail: source.to_string() }
            }
            other => GitHubError::Transport { url: self.url(route), detail: other.to_string() },
        })
    }
}
