//! Storing what GitHub sent: its payloads ([`model`](super::model)) become the records of
//! [`db::models::github`], and each issue or pull request stored brings the links its title
//! and body imply.

use db::models::github::{self, IssueRecord, ParentIssue, PullRecord};
use sqlx::PgConnection;

use super::model::{self, Issue, IssueRef, Label, Login, PullRequest};

fn logins(users: &[Login]) -> Vec<String> {
    users.iter().map(|u| u.login.clone()).collect()
}

fn names(labels: &[Label]) -> Vec<String> {
    labels.iter().map(|l| l.name.clone()).collect()
}

/// Stores an issue (not a pull request), with the issue it is a sub-issue of, if known.
pub async fn upsert_issue(
    db: &mut PgConnection,
    repository: &str,
    issue: &Issue,
    parent: Option<&IssueRef>,
) -> sqlx::Result<()> {
    let record = IssueRecord {
        id: issue.id,
        repository,
        number: issue.number,
        title: &issue.title,
        body: issue.body.as_deref(),
        state: &issue.state,
        state_reason: issue.state_reason.as_deref(),
        html_url: &issue.html_url,
        author: issue.user.as_ref().map(|u| u.login.as_str()),
        assignees: logins(&issue.assignees),
        labels: names(&issue.labels),
        created_at: issue.created_at,
        updated_at: issue.updated_at,
        closed_at: issue.closed_at,
    };
    let parent = parent.map(|p| ParentIssue { repository: &p.repository, number: p.number });
    github::upsert_issue(db, &record, parent).await
}

pub async fn upsert_pull(db: &mut sqlx::PgConnection, repository: &str, pull: &PullRequest) -> sqlx::Result<()> {
    let record = PullRecord {
        id: pull.id,
        repository,
        number: pull.number,
        title: &pull.title,
        body: pull.body.as_deref(),
        state: &pull.state,
        draft: pull.draft.unwrap_or(false),
        merged: pull.is_merged(),
        merged_at: pull.merged_at.filter(|_| pull.is_merged()),
        html_url: &pull.html_url,
        author: pull.user.as_ref().map(|u| u.login.as_str()),
        assignees: logins(&pull.assignees),
        labels: names(&pull.labels),
        created_at: pull.created_at,
        updated_at: pull.updated_at,
        closed_at: pull.closed_at,
        merge_commit_sha: pull.merge_commit_sha.as_deref().filter(|sha| model::is_commit_sha(sha) && pull.is_merged()),
    };
    github::upsert_pull(db, &record).await
}

/// Stores an issue and adds the links its title and body imply; how many links are new.
pub async fn save_issue(
    db: &mut PgConnection,
    repository: &str,
    issue: &Issue,
    parent: Option<&IssueRef>,
) -> sqlx::Result<u64> {
    upsert_issue(db, repository, issue, parent).await?;
    let side = db::models::links::GitHubSide::Issue(issue.id);
    super::linking::link_text(db, side, repository, &issue.title, issue.body.as_deref()).await
}

/// Stores a pull request and adds the links its title and body imply; how many are new. A
/// change Unthread opened as this pull request follows it (merged, closed).
pub async fn save_pull(db: &mut PgConnection, repository: &str, pull: &PullRequest) -> sqlx::Result<u64> {
    upsert_pull(&mut *db, repository, pull).await?;
    db::models::changes::follow_pull(&mut *db, pull.id).await?;
    let side = db::models::links::GitHubSide::Pull(pull.id);
    super::linking::link_text(db, side, repository, &pull.title, pull.body.as_deref()).await
}
