//! GitHub's side, as Unthread keeps it: issues and pull requests (`gh_issues`, `gh_pulls`,
//! upserts keyed by GitHub's id in which the latest `updated_at` wins, so a late webhook
//! never undoes a newer sync), webhook deliveries already handled, sync runs, and the
//! conditional-request cache of the sync client.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// An issue (never a pull request) as stored.
#[derive(Clone, Debug)]
pub struct IssueRecord<'a> {
    pub id: i64,
    pub repository: &'a str,
    pub number: i32,
    pub title: &'a str,
    pub body: Option<&'a str>,
    /// `open` or `closed`.
    pub state: &'a str,
    pub state_reason: Option<&'a str>,
    pub html_url: &'a str,
    pub author: Option<&'a str>,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// The issue `repository#number` (a sub-issue's parent).
#[derive(Clone, Copy, Debug)]
pub struct ParentIssue<'a> {
    pub repository: &'a str,
    pub number: i32,
}

/// Stores an issue, with the issue it is a sub-issue of, if known.
pub async fn upsert_issue(
    db: &mut PgConnection,
    issue: &IssueRecord<'_>,
    parent: Option<ParentIssue<'_>>,
) -> sqlx::Result<()> {
    follow_new_id(&mut *db, Kind::Issue, issue.repository, issue.number, issue.id).await?;
    let before =
        sqlx::query_scalar!("SELECT assignees FROM gh_issues WHERE id = $1", issue.id).fetch_optional(&mut *db).await?;
    let written = sqlx::query!(
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
        issue.id,
        issue.repository,
        issue.number,
        issue.title,
        issue.body,
        issue.state,
        issue.state_reason,
        issue.html_url,
        issue.author,
        &issue.assignees,
        &issue.labels,
        parent.map(|p| p.repository),
        parent.map(|p| p.number),
        issue.created_at as _,
        issue.updated_at as _,
        issue.closed_at as _
    )
    .execute(&mut *db)
    .await?
    .rows_affected()
        > 0;
    // Who is assigned, over time (a first copy with nobody assigned changes nothing).
    let mut assignees = issue.assignees.clone();
    assignees.sort_unstable();
    let was = before.map(|mut was| {
        was.sort_unstable();
        was
    });
    if written && was.as_ref().map_or(!assignees.is_empty(), |was| *was != assignees) {
        let event = super::events::Event::GitHubAssignees(super::events::AssigneesChanged {
            repository: issue.repository.to_owned(),
            number: issue.number,
            assignees,
        });
        super::events::record(&mut *db, &event, super::events::About::system().at(Some(issue.updated_at))).await?;
    }
    // Where an issue hangs in the epic's tree holds whatever the age of this copy.
    if let Some(parent) = parent {
        set_parent(db, issue.id, parent).await?;
    }
    Ok(())
}

/// Places issue `id` under `parent`.
pub async fn set_parent(db: impl PgExecutor<'_>, id: i64, parent: ParentIssue<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE gh_issues SET parent_repository = $2, parent_number = $3 WHERE id = $1",
        id,
        parent.repository,
        parent.number
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Takes issue `id` out from under `parent`, if that is where it is.
pub async fn remove_parent(db: impl PgExecutor<'_>, id: i64, parent: ParentIssue<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE gh_issues SET parent_repository = NULL, parent_number = NULL
         WHERE id = $1 AND parent_repository = $2 AND parent_number = $3",
        id,
        parent.repository,
        parent.number
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A pull request as stored.
#[derive(Clone, Debug)]
pub struct PullRecord<'a> {
    pub id: i64,
    pub repository: &'a str,
    pub number: i32,
    pub title: &'a str,
    pub body: Option<&'a str>,
    pub state: &'a str,
    pub draft: bool,
    pub merged: bool,
    /// Only when merged.
    pub merged_at: Option<DateTime<Utc>>,
    pub html_url: &'a str,
    pub author: Option<&'a str>,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Only when merged: the commit the merge made (what a `closed` timeline event names).
    pub merge_commit_sha: Option<&'a str>,
}

/// Records who closed issue `repository#number`, from its timeline's last `closed` event:
/// the actor GitHub names, and the commit that closed it.
pub async fn set_issue_closer(
    db: impl PgExecutor<'_>,
    repository: &str,
    number: i32,
    actor: Option<&str>,
    commit: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE gh_issues SET closed_by_actor = $3, closed_by_commit = $4
         WHERE lower(repository) = lower($1) AND number = $2
           AND (closed_by_actor, closed_by_commit) IS DISTINCT FROM ($3, $4)",
        repository,
        number,
        actor,
        commit
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn upsert_pull(db: &mut PgConnection, pull: &PullRecord<'_>) -> sqlx::Result<()> {
    follow_new_id(&mut *db, Kind::Pull, pull.repository, pull.number, pull.id).await?;
    sqlx::query!(
        r#"INSERT INTO gh_pulls (id, repository, number, title, body, state, draft, merged, merged_at, html_url, author,
                                 assignees, labels, created_at, updated_at, closed_at, merge_commit_sha)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           ON CONFLICT (id) DO UPDATE SET
               repository = $2, number = $3, title = $4, body = $5, state = $6, draft = $7, merged = $8,
               merged_at = $9, html_url = $10, author = $11, assignees = $12, labels = $13,
               created_at = $14, updated_at = $15, closed_at = $16,
               merge_commit_sha = coalesce($17, gh_pulls.merge_commit_sha), synced_at = now()
           WHERE gh_pulls.updated_at <= $15"#,
        pull.id,
        pull.repository,
        pull.number,
        pull.title,
        pull.body,
        pull.state,
        pull.draft,
        pull.merged,
        pull.merged_at as _,
        pull.html_url,
        pull.author,
        &pull.assignees,
        &pull.labels,
        pull.created_at as _,
        pull.updated_at as _,
        pull.closed_at as _,
        pull.merge_commit_sha
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The files a pull request changes (for linking by path).
pub async fn set_pull_files(db: impl PgExecutor<'_>, pull_id: i64, files: &[String]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE gh_pulls SET files = $2 WHERE id = $1", pull_id, files).execute(db).await?;
    Ok(())
}

/// Records a webhook delivery; false when it was recorded before (a replay).
/// Says what a delivery led to ("scan queued", "ignored: ...").
pub async fn set_delivery_outcome(db: impl PgExecutor<'_>, delivery: &str, outcome: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE gh_deliveries SET outcome = $2 WHERE delivery_id = $1", delivery, outcome).execute(db).await?;
    Ok(())
}

/// A delivery as /admin lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub event: String,
    pub action: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub outcome: Option<String>,
}

/// The latest sync run, if any ran.
pub async fn last_sync_run(db: impl PgExecutor<'_>) -> sqlx::Result<Option<crate::views::SyncRunView>> {
    sqlx::query_as!(
        crate::views::SyncRunView,
        r#"SELECT id, started_at AS "started_at: chrono::DateTime<chrono::Utc>",
                  finished_at AS "finished_at: chrono::DateTime<chrono::Utc>", status, requests, error
           FROM gh_sync_runs ORDER BY id DESC LIMIT 1"#
    )
    .fetch_optional(db)
    .await
}

/// The latest `limit` deliveries, newest first.
pub async fn recent_deliveries(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Delivery>> {
    sqlx::query_as!(
        Delivery,
        r#"SELECT delivery_id, event, action, received_at AS "received_at: chrono::DateTime<chrono::Utc>", outcome
           FROM gh_deliveries ORDER BY received_at DESC, delivery_id LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn first_delivery(
    db: impl PgExecutor<'_>,
    delivery: &str,
    event: &str,
    action: Option<&str>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO gh_deliveries (delivery_id, event, action) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        delivery,
        event,
        action
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Starts recording a sync run; its id.
pub async fn start_sync_run(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!("INSERT INTO gh_sync_runs (status) VALUES ('running') RETURNING id").fetch_one(db).await
}

/// What a sync run cost, recorded when it ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyncCost {
    pub requests: u32,
    pub not_modified: u32,
    pub rate_limited: u32,
    pub retries: u32,
}

/// Ends run `run_id`: complete, or failed with `error`.
pub async fn finish_sync_run(
    db: impl PgExecutor<'_>,
    run_id: i64,
    cost: SyncCost,
    error: Option<&str>,
) -> sqlx::Result<()> {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    sqlx::query!(
        "UPDATE gh_sync_runs SET finished_at = now(), status = $2, requests = $3, not_modified = $4,
                rate_limited = $5, retries = $6, error = $7 WHERE id = $1",
        run_id,
        if error.is_none() { "complete" } else { "failed" },
        count(cost.requests),
        count(cost.not_modified),
        count(cost.rate_limited),
        count(cost.retries),
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The last 200 answer to a GET of `url`: its ETag, next-page link and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPage {
    pub etag: String,
    pub link_next: Option<String>,
    pub body: Vec<u8>,
}

pub async fn cached_page(db: impl PgExecutor<'_>, url: &str) -> sqlx::Result<Option<CachedPage>> {
    sqlx::query_as!(CachedPage, "SELECT etag, link_next, body FROM gh_http_cache WHERE url = $1", url)
        .fetch_optional(db)
        .await
}

/// Keeps a 200 answer to a GET of `url`, for the next conditional request.
pub async fn remember_page(
    db: impl PgExecutor<'_>,
    url: &str,
    etag: &str,
    link_next: Option<&str>,
    body: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO gh_http_cache (url, etag, link_next, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (url) DO UPDATE SET etag = $2, link_next = $3, body = $4, fetched_at = now()",
        url,
        etag,
        link_next,
        body
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Background work in progress across every process: sync runs and scheduled report exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobsRunning {
    pub syncs: i64,
    pub reports: i64,
}

pub async fn jobs_running(db: impl PgExecutor<'_>) -> sqlx::Result<JobsRunning> {
    sqlx::query_as!(
        JobsRunning,
        r#"SELECT (SELECT count(*) FROM gh_sync_runs WHERE status = 'running') AS "syncs!",
                  (SELECT count(*) FROM report_schedule_runs WHERE finished_at IS NULL) AS "reports!""#
    )
    .fetch_one(db)
    .await
}

#[derive(Clone, Copy)]
enum Kind {
    Issue,
    Pull,
}

/// Makes room for `id` at `repository`#`number` when GitHub now gives that issue or pull
/// request another id than the one stored (deleted and recreated, transferred back): the
/// stored row takes the new id and its links follow it (`ON UPDATE CASCADE`); when a row
/// with the new id exists already (it was stored under its old place), the stale row's links
/// move to it and the stale row goes. Without this the upsert met the `(repository, number)`
/// unique constraint and the delivery failed as if the database were down.
async fn follow_new_id(db: &mut PgConnection, kind: Kind, repository: &str, number: i32, id: i64) -> sqlx::Result<()> {
    let stale = match kind {
        Kind::Issue => {
            sqlx::query_scalar!(
                "SELECT id FROM gh_issues WHERE repository = $1 AND number = $2 AND id <> $3",
                repository,
                number,
                id
            )
            .fetch_optional(&mut *db)
            .await?
        }
        Kind::Pull => {
            sqlx::query_scalar!(
                "SELECT id FROM gh_pulls WHERE repository = $1 AND number = $2 AND id <> $3",
                repository,
                number,
                id
            )
            .fetch_optional(&mut *db)
            .await?
        }
    };
    let Some(stale) = stale else { return Ok(()) };
    match kind {
        Kind::Issue => {
            sqlx::query!(
                r#"WITH moved AS (
                       UPDATE gh_issues SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM gh_issues WHERE id = $2)
                       RETURNING id),
                   relinked AS (
                       UPDATE links l SET issue_id = $2
                       WHERE l.issue_id = $1 AND NOT EXISTS (SELECT 1 FROM moved)
                         AND NOT EXISTS (SELECT 1 FROM links d WHERE d.issue_id = $2
                                         AND d.finding_id IS NOT DISTINCT FROM l.finding_id
                                         AND d.target_id IS NOT DISTINCT FROM l.target_id)
                       RETURNING l.id)
                   SELECT (SELECT count(*) FROM moved) AS "moved!", (SELECT count(*) FROM relinked) AS "relinked!""#,
                stale,
                id
            )
            .fetch_one(&mut *db)
            .await?;
            sqlx::query!("DELETE FROM links WHERE issue_id = $1", stale).execute(&mut *db).await?;
            sqlx::query!("DELETE FROM gh_issues WHERE id = $1", stale).execute(&mut *db).await?;
        }
        Kind::Pull => {
            sqlx::query!(
                r#"WITH moved AS (
                       UPDATE gh_pulls SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM gh_pulls WHERE id = $2)
                       RETURNING id),
                   relinked AS (
                       UPDATE links l SET pull_id = $2
                       WHERE l.pull_id = $1 AND NOT EXISTS (SELECT 1 FROM moved)
                         AND NOT EXISTS (SELECT 1 FROM links d WHERE d.pull_id = $2
                                         AND d.finding_id IS NOT DISTINCT FROM l.finding_id
                                         AND d.target_id IS NOT DISTINCT FROM l.target_id)
                       RETURNING l.id)
                   SELECT (SELECT count(*) FROM moved) AS "moved!", (SELECT count(*) FROM relinked) AS "relinked!""#,
                stale,
                id
            )
            .fetch_one(&mut *db)
            .await?;
            sqlx::query!("DELETE FROM links WHERE pull_id = $1", stale).execute(&mut *db).await?;
            sqlx::query!("DELETE FROM gh_pulls WHERE id = $1", stale).execute(&mut *db).await?;
        }
    }
    Ok(())
}
