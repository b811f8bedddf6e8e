//! Weekly reports sent out: the comments posted on GitHub (`report_posts`), and which weeks
//! the scheduled export has run for (`report_schedule_runs`, once per week across processes).

use sqlx::PgExecutor;

/// Where a week's report was posted last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportPost {
    pub id: i64,
    pub comment_id: i64,
    pub html_url: String,
    /// XXH3 of the Markdown sent.
    pub body_digest: String,
}

/// The latest post of `week`'s report on issue `repository#number`.
pub async fn latest_post(
    db: impl PgExecutor<'_>,
    repository: &str,
    number: i32,
    week: &str,
) -> sqlx::Result<Option<ReportPost>> {
    sqlx::query_as!(
        ReportPost,
        "SELECT id, comment_id, html_url, body_digest FROM report_posts
         WHERE repository = $1 AND number = $2 AND week = $3 ORDER BY id DESC LIMIT 1",
        repository,
        number,
        week
    )
    .fetch_optional(db)
    .await
}

/// A new comment with `week`'s report on `repository#number`.
#[derive(Clone, Copy, Debug)]
pub struct NewPost<'a> {
    pub week: &'a str,
    pub repository: &'a str,
    pub number: i32,
    pub comment_id: i64,
    pub html_url: &'a str,
    /// The maintainer, or `None` for the schedule and the command line.
    pub posted_by: Option<&'a str>,
    pub body_digest: &'a str,
}

pub async fn record_post(db: impl PgExecutor<'_>, post: NewPost<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO report_posts (week, repository, number, comment_id, html_url, posted_by, body_digest)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        post.week,
        post.repository,
        post.number,
        post.comment_id,
        post.html_url,
        post.posted_by,
        post.body_digest
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The comment `id` was edited to carry the Markdown of `body_digest`.
pub async fn record_update(db: impl PgExecutor<'_>, id: i64, body_digest: &str, html_url: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE report_posts SET body_digest = $2, html_url = $3, updated_at = now() WHERE id = $1",
        id,
        body_digest,
        html_url
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claims the scheduled export of `week` for this process; false when another process (or an
/// earlier run) has it.
pub async fn claim_scheduled_run(db: impl PgExecutor<'_>, week: &str) -> sqlx::Result<bool> {
    let claimed = sqlx::query!("INSERT INTO report_schedule_runs (week) VALUES ($1) ON CONFLICT DO NOTHING", week)
        .execute(db)
        .await?;
    Ok(claimed.rows_affected() == 1)
}

/// The scheduled export of `week` ended, saying `outcome`.
pub async fn finish_scheduled_run(db: impl PgExecutor<'_>, week: &str, outcome: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE report_schedule_runs SET finished_at = now(), outcome = $2 WHERE week = $1", week, outcome)
        .execute(db)
        .await?;
    Ok(())
}
