//! Writing GitHub issues and pull requests into `gh_issues` / `gh_pulls` (upserts keyed by
//! GitHub's id: the latest `updated_at` wins, so a late webhook never undoes a newer sync).

use sqlx::{PgConnection, PgExecutor};

use super::model::{Issue, IssueRef, PullRequest};

fn logins(users: &[super::model::Login]) -> Vec<String> {
    users.iter().map(|u| u.login.clone()).collect()
}

/// Stores an issue (not a pull request), with the issue it is a sub-issue of, if known.
pub async fn upsert_issue(
    db: &mut PgConnection,
    repository: &str,
    issue: &Issue,
    parent: Option<&IssueRef>,
) -> sqlx::Result<()> {
    sqlx::query(
        r#"INSERT INTO gh_issues (id, repository, number, title, body, state, state_reason, html_url, author,
                                  assignees, labels, parent_repository, parent_number, created_at, updated_at, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (id) DO UPDATE SET
               repository = $2, number = $3, title = $4, body = $5, state = $6, state_reason = $7, html_url = $8,
               author = $9, assignees = $10, labels = $11,
               parent_repository = coalesce($12, gh_issues.parent_repository),
               parent_number = coalesce($13, gh_issues.parent_number),
               created_at = $14, updated_at = $15, closed_at = $16, synced_at = now()
           WHERE gh_issues.updated_at <= $15"#,
    )
    .bind(issue.id)
    .bind(repository)
    .bind(issue.number)
    .bind(&issue.title)
    .bind(&issue.body)
    .bind(&issue.state)
    .bind(&issue.state_reason)
    .bind(&issue.html_url)
    .bind(issue.user.as_ref().map(|u| &u.login))
    .bind(logins(&issue.assignees))
    .bind(issue.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
    .bind(parent.map(|p| &p.repository))
    .bind(parent.map(|p| p.number))
    .bind(issue.created_at)
    .bind(issue.updated_at)
    .bind(issue.closed_at)
    .execute(&mut *db)
    .await?;
    // Where an issue hangs in the epic's tree holds whatever the age of this copy.
    if let Some(parent) = parent {
        sqlx::query("UPDATE gh_issues SET parent_repository = $2, parent_number = $3 WHERE id = $1")
            .bind(issue.id)
            .bind(&parent.repository)
            .bind(parent.number)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

pub async fn upsert_pull(db: impl PgExecutor<'_>, repository: &str, pull: &PullRequest) -> sqlx::Result<()> {
    sqlx::query(
        r#"INSERT INTO gh_pulls (id, repository, number, title, body, state, draft, merged, merged_at, html_url, author,
                                 assignees, labels, created_at, updated_at, closed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           ON CONFLICT (id) DO UPDATE SET
               repository = $2, number = $3, title = $4, body = $5, state = $6, draft = $7, merged = $8,
               merged_at = $9, html_url = $10, author = $11, assignees = $12, labels = $13,
               created_at = $14, updated_at = $15, closed_at = $16, synced_at = now()
           WHERE gh_pulls.updated_at <= $15"#,
    )
    .bind(pull.id)
    .bind(repository)
    .bind(pull.number)
    .bind(&pull.title)
    .bind(&pull.body)
    .bind(&pull.state)
    .bind(pull.draft.unwrap_or(false))
    .bind(pull.is_merged())
    .bind(pull.merged_at.filter(|_| pull.is_merged()))
    .bind(&pull.html_url)
    .bind(pull.user.as_ref().map(|u| &u.login))
    .bind(logins(&pull.assignees))
    .bind(pull.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
    .bind(pull.created_at)
    .bind(pull.updated_at)
    .bind(pull.closed_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_pull_files(db: impl PgExecutor<'_>, pull_id: i64, files: &[String]) -> sqlx::Result<()> {
    sqlx::query("UPDATE gh_pulls SET files = $2 WHERE id = $1").bind(pull_id).bind(files).execute(db).await?;
    Ok(())
}

/// Stores an issue and adds the links its title and body imply; how many links are new.
pub async fn save_issue(
    db: &mut PgConnection,
    repository: &str,
    issue: &Issue,
    parent: Option<&IssueRef>,
) -> sqlx::Result<u64> {
    upsert_issue(db, repository, issue, parent).await?;
    super::linking::link_text(
        db,
        super::linking::GitHubItem::Issue(issue.id),
        repository,
        &issue.title,
        issue.body.as_deref(),
    )
    .await
}

/// Stores a pull request and adds the links its title and body imply; how many are new.
pub async fn save_pull(db: &mut PgConnection, repository: &str, pull: &PullRequest) -> sqlx::Result<u64> {
    upsert_pull(&mut *db, repository, pull).await?;
    super::linking::link_text(
        db,
        super::linking::GitHubItem::Pull(pull.id),
        repository,
        &pull.title,
        pull.body.as_deref(),
    )
    .await
}
