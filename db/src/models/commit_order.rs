//! The order of a repository's commits, as far as Unthread knows it (`repository_commits`):
//! which of two scanned commits is the newer, so a scan of an older commit that finishes
//! last never becomes the repository's latest state.
//!
//! Two sources, believed in this order:
//! 1. **Pushes**: each push to the default branch says `after` follows `before`. A chain of
//!    pushes from one commit to the other orders them for certain (it is the branch's own
//!    history as GitHub delivered it). Force-pushes are in the chain too: the branch moved
//!    from `before` to `after`, whatever their ancestry.
//! 2. **Commit times**, from the archives: only when no chain of pushes links the two
//!    (commits scanned by a maintainer's "Rescan now" or the sweep, before any push was
//!    seen). A rebased or cherry-picked commit can carry an older time than its parent, so
//!    this is a last resort, and the outcome says which source decided.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// How long a chain of pushes is followed (a repository's pushes since tracking began).
const MAX_CHAIN: i32 = 10_000;

/// Which of two commits is the newer, and what says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The candidate is newer than (or the same as) the latest scanned commit.
    Newer(Evidence),
    /// The candidate is older than the latest scanned commit.
    Older(Evidence),
    /// Nothing known orders them.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// A chain of pushes to the default branch links them.
    Pushes,
    /// Their commit times, from the archives (no push links them).
    CommitTimes,
}

impl Evidence {
    pub fn describe(self) -> &'static str {
        match self {
            Evidence::Pushes => "by the pushes to its default branch",
            Evidence::CommitTimes => "by commit times (no push links the two)",
        }
    }
}

fn is_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Records a push to the default branch: `after` now follows `before` (all zeros when the
/// branch was created).
pub async fn record_push(db: impl PgExecutor<'_>, target_id: i64, before: &str, after: &str) -> sqlx::Result<()> {
    if !is_sha(after) {
        return Ok(());
    }
    let before = (is_sha(before) && before.bytes().any(|b| b != b'0')).then_some(before);
    sqlx::query!(
        "INSERT INTO repository_commits (target_id, sha, pushed_over) VALUES ($1, $2, $3)
         ON CONFLICT (target_id, sha) DO UPDATE SET pushed_over = coalesce(EXCLUDED.pushed_over, repository_commits.pushed_over)",
        target_id,
        after,
        before
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records when a scanned commit was made (its archive says).
pub async fn record_commit_time(
    db: impl PgExecutor<'_>,
    target_id: i64,
    sha: &str,
    committed_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    if !is_sha(sha) {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO repository_commits (target_id, sha, committed_at) VALUES ($1, $2, $3)
         ON CONFLICT (target_id, sha) DO UPDATE SET committed_at = EXCLUDED.committed_at",
        target_id,
        sha,
        committed_at as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The commit of the target's latest recorded scan (complete or partial), if it names one.
pub async fn latest_scanned(db: impl PgExecutor<'_>, target_id: i64) -> sqlx::Result<Option<String>> {
    let revision = sqlx::query_scalar!(
        "SELECT revision FROM scans WHERE target_id = $1 AND status IN ('complete', 'partial') ORDER BY id DESC LIMIT 1",
        target_id
    )
    .fetch_optional(db)
    .await?;
    Ok(revision.flatten().filter(|r| is_sha(r)))
}

/// Whether `candidate` is newer than `latest` (both commits of the target).
pub async fn order(db: impl PgExecutor<'_>, target_id: i64, latest: &str, candidate: &str) -> sqlx::Result<Order> {
    if latest == candidate {
        return Ok(Order::Newer(Evidence::Pushes));
    }
    // Walk back from each along the pushes; whichever reaches the other is the newer.
    let row = sqlx::query!(
        r#"WITH RECURSIVE back(start, sha, depth) AS (
               SELECT s, s, 0 FROM unnest(ARRAY[$2::text, $3::text]) AS s
               UNION ALL
               SELECT b.start, c.pushed_over, b.depth + 1
               FROM back b JOIN repository_commits c ON c.target_id = $1 AND c.sha = b.sha
               WHERE c.pushed_over IS NOT NULL AND b.depth < $4
           ) CYCLE sha SET looped USING path
           SELECT
               EXISTS (SELECT 1 FROM back WHERE start = $2 AND sha = $3 AND depth > 0) AS "latest_follows!",
               EXISTS (SELECT 1 FROM back WHERE start = $3 AND sha = $2 AND depth > 0) AS "candidate_follows!",
               (SELECT committed_at FROM repository_commits WHERE target_id = $1 AND sha = $2) AS "latest_at: DateTime<Utc>",
               (SELECT committed_at FROM repository_commits WHERE target_id = $1 AND sha = $3) AS "candidate_at: DateTime<Utc>""#,
        target_id,
        latest,
        candidate,
        MAX_CHAIN
    )
    .fetch_one(db)
    .await?;
    Ok(match (row.latest_follows, row.candidate_follows, row.latest_at, row.candidate_at) {
        (true, false, _, _) => Order::Older(Evidence::Pushes),
        (false, true, _, _) => Order::Newer(Evidence::Pushes),
        (_, _, Some(latest_at), Some(candidate_at)) if candidate_at < latest_at => Order::Older(Evidence::CommitTimes),
        (_, _, Some(_), Some(_)) => Order::Newer(Evidence::CommitTimes),
        _ => Order::Unknown,
    })
}
