//! The job queue as /admin, the metrics and the enqueuing side see it. The queue itself (its
//! tables in schema `underway`: tasks, attempts) is the `underway` crate's: it enqueues,
//! leases, heartbeats, retries and fails tasks. What is here reads those tables, folds a
//! second request for the same work into the first, and carries out a maintainer's retry
//! and cancel — the only writes to them outside the crate.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

/// The one queue every Unthread job goes on (the job's kind is in its input).
pub const QUEUE: &str = "unthread";

/// Jobs of one kind in one state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KindCount {
    pub kind: String,
    /// `pending`, `in_progress`, `succeeded`, `cancelled` or `failed` (dead).
    pub state: String,
    pub count: i64,
}

/// How many jobs of each kind are in each state (the last 14 days: the queue deletes older
/// finished ones).
pub async fn counts(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<KindCount>> {
    sqlx::query_as!(
        KindCount,
        r#"SELECT coalesce(input->>'kind', '?') AS "kind!", state::text AS "state!", count(*) AS "count!"
           FROM underway.task WHERE task_queue_name = $1
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        QUEUE
    )
    .fetch_all(db)
    .await
}

/// One job, for /admin.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct JobRow {
    pub id: uuid::Uuid,
    pub kind: String,
    /// What it works on, e.g. `scan_repository:openedx/edx-platform@<sha>`.
    pub key: Option<String>,
    pub state: String,
    pub priority: i32,
    pub input: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub max_attempts: i32,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    /// What it is doing now (running jobs).
    pub step: Option<String>,
}

impl JobRow {
    /// As the page shows it.
    pub fn view(self) -> crate::views::JobView {
        let reason = self.input.get("reason").and_then(|r| r.as_str()).unwrap_or("").to_owned();
        crate::views::JobView {
            id: self.id.to_string(),
            kind: self.kind,
            key: self.key,
            state: self.state,
            priority: self.priority,
            reason,
            created_at: self.created_at,
            last_attempt_at: self.last_attempt_at,
            completed_at: self.completed_at,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            last_error: self.last_error,
            step: self.step,
        }
    }
}

/// Which jobs /admin lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobFilter {
    /// Running now.
    Running,
    /// Waiting, soonest first (retries among them).
    Pending,
    /// Failed at least once, not dead: waiting for its retry, or done since (newest first).
    RecentFailures,
    /// Failed for good: no attempts left.
    Dead,
    /// Everything, newest first.
    All,
}

/// Up to `limit` jobs of `filter`.
pub async fn list(db: impl PgExecutor<'_>, filter: JobFilter, limit: i64) -> sqlx::Result<Vec<JobRow>> {
    let filter = match filter {
        JobFilter::Running => "running",
        JobFilter::Pending => "pending",
        JobFilter::RecentFailures => "failures",
        JobFilter::Dead => "dead",
        JobFilter::All => "all",
    };
    sqlx::query_as!(
        JobRow,
        r#"SELECT t.id, coalesce(t.input->>'kind', '?') AS "kind!", t.concurrency_key AS key, t.state::text AS "state!",
                  t.priority, t.input, t.created_at AS "created_at: DateTime<Utc>",
                  t.last_attempt_at AS "last_attempt_at: DateTime<Utc>", t.completed_at AS "completed_at: DateTime<Utc>",
                  (SELECT count(*) FROM underway.task_attempt a
                    WHERE a.task_queue_name = t.task_queue_name AND a.task_id = t.id) AS "attempts!",
                  (t.retry_policy).max_attempts AS "max_attempts!",
                  (SELECT a.error_message FROM underway.task_attempt a
                    WHERE a.task_queue_name = t.task_queue_name AND a.task_id = t.id AND a.error_message IS NOT NULL
                    ORDER BY a.attempt_number DESC LIMIT 1) AS last_error,
                  (SELECT j.step FROM job_activity j WHERE j.job_key = t.concurrency_key AND t.state = 'in_progress') AS step
           FROM underway.task t
           WHERE t.task_queue_name = $1
             AND CASE $2
                   WHEN 'running' THEN t.state = 'in_progress'
                   WHEN 'pending' THEN t.state = 'pending'
                   WHEN 'dead' THEN t.state = 'failed'
                   WHEN 'failures' THEN t.state <> 'failed' AND EXISTS (
                       SELECT 1 FROM underway.task_attempt a
                       WHERE a.task_queue_name = t.task_queue_name AND a.task_id = t.id AND a.error_message IS NOT NULL)
                   ELSE true
                 END
           ORDER BY CASE WHEN $2 = 'pending' THEN t.priority END DESC,
                    CASE WHEN $2 = 'pending' THEN t.created_at END ASC,
                    coalesce(t.last_attempt_at, t.created_at) DESC
           LIMIT $3"#,
        QUEUE,
        filter,
        limit
    )
    .fetch_all(db)
    .await
}

/// The job with this id.
pub async fn get(db: impl PgExecutor<'_>, id: uuid::Uuid) -> sqlx::Result<Option<JobRow>> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT t.id, coalesce(t.input->>'kind', '?') AS "kind!", t.concurrency_key AS key, t.state::text AS "state!",
                  t.priority, t.input, t.created_at AS "created_at: DateTime<Utc>",
                  t.last_attempt_at AS "last_attempt_at: DateTime<Utc>", t.completed_at AS "completed_at: DateTime<Utc>",
                  (SELECT count(*) FROM underway.task_attempt a
                    WHERE a.task_queue_name = t.task_queue_name AND a.task_id = t.id) AS "attempts!",
                  (t.retry_policy).max_attempts AS "max_attempts!",
                  (SELECT a.error_message FROM underway.task_attempt a
                    WHERE a.task_queue_name = t.task_queue_name AND a.task_id = t.id AND a.error_message IS NOT NULL
                    ORDER BY a.attempt_number DESC LIMIT 1) AS last_error,
                  (SELECT j.step FROM job_activity j WHERE j.job_key = t.concurrency_key AND t.state = 'in_progress') AS step
           FROM underway.task t WHERE t.task_queue_name = $1 AND t.id = $2"#,
        QUEUE,
        id
    )
    .fetch_optional(db)
    .await
}

/// The job waiting for or doing the work `key` names, if any: a new request for it is
/// folded into that one.
pub async fn active_with_key(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<(uuid::Uuid, i32)>> {
    let row = sqlx::query!(
        r#"SELECT id, priority FROM underway.task
           WHERE task_queue_name = $1 AND concurrency_key = $2 AND state IN ('pending', 'in_progress')"#,
        QUEUE,
        key
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.priority)))
}

/// Whether any job for `key` was ever queued (within the queue's retention): periodic work
/// names its period in the key, so that of several processes only one enqueues it.
pub async fn any_with_key(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM underway.task WHERE task_queue_name = $1 AND concurrency_key = $2) AS "exists!""#,
        QUEUE,
        key
    )
    .fetch_one(db)
    .await
}

/// A folded request that matters more lifts the waiting job's priority.
pub async fn raise_priority(db: impl PgExecutor<'_>, id: uuid::Uuid, priority: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE underway.task SET priority = $3, updated_at = now()
         WHERE task_queue_name = $1 AND id = $2 AND state = 'pending' AND priority < $3",
        QUEUE,
        id,
        priority
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What a maintainer's retry or cancel did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    /// No job with this id.
    Missing,
    /// The job is not in a state this applies to (e.g. cancelling a finished job).
    NotApplicable,
    /// Retrying: the same work is already waiting or running.
    Duplicate,
}

/// Puts a failed (dead) or cancelled job back on the queue for one more attempt, now.
pub async fn retry(pool: &PgPool, id: uuid::Uuid) -> sqlx::Result<Change> {
    let mut tx = pool.begin().await?;
    let Some(job) = get(&mut *tx, id).await? else { return Ok(Change::Missing) };
    if job.state != "failed" && job.state != "cancelled" {
        return Ok(Change::NotApplicable);
    }
    if let Some(key) = &job.key {
        if active_with_key(&mut *tx, key).await?.is_some() {
            return Ok(Change::Duplicate);
        }
    }
    // The attempts so far stay (their errors are the job's history); the retry policy
    // counts them, so the job gets one attempt more.
    sqlx::query!(
        r#"UPDATE underway.task
           SET state = 'pending', delay = now() - created_at, completed_at = NULL, updated_at = now(),
               retry_policy.max_attempts = greatest((retry_policy).max_attempts,
                   (SELECT count(*)::int + 1 FROM underway.task_attempt a WHERE a.task_queue_name = $1 AND a.task_id = $2))
           WHERE task_queue_name = $1 AND id = $2"#,
        QUEUE,
        id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Change::Done)
}

/// Cancels a job that has not started. A running job finishes its attempt (its work applies
/// whole or not at all); cancelling it is refused.
pub async fn cancel(db: impl PgExecutor<'_>, id: uuid::Uuid) -> sqlx::Result<Change> {
    let row = sqlx::query!(
        r#"WITH job AS (SELECT id, state::text AS state FROM underway.task WHERE task_queue_name = $1 AND id = $2),
                cancelled AS (
                    UPDATE underway.task SET state = 'cancelled', completed_at = now(), updated_at = now()
                    WHERE task_queue_name = $1 AND id = $2 AND state = 'pending' RETURNING id)
           SELECT (SELECT state FROM job) AS state, EXISTS (SELECT 1 FROM cancelled) AS "cancelled!""#,
        QUEUE,
        id
    )
    .fetch_one(db)
    .await?;
    Ok(match (row.state, row.cancelled) {
        (None, _) => Change::Missing,
        (Some(_), true) => Change::Done,
        (Some(_), false) => Change::NotApplicable,
    })
}

/// Cancels the scans of `target` waiting for a worker, but `keep`: a push to the default
/// branch makes its new head the one commit worth scanning next, so the waiting scans of
/// older heads fold into it. Running scans are left to finish (their results are ordered
/// against the latest scan, `commit_order`). Returns how many were cancelled.
pub async fn supersede_waiting_scans(db: impl PgExecutor<'_>, target: &str, keep: &str) -> sqlx::Result<u64> {
    let prefix = format!("scan_repository:{target}@");
    let done = sqlx::query!(
        "UPDATE underway.task SET state = 'cancelled', completed_at = now(), updated_at = now()
         WHERE task_queue_name = $1 AND state = 'pending'
           AND left(concurrency_key, length($2)) = $2 AND concurrency_key <> $3",
        QUEUE,
        prefix,
        keep
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Keeps the error of the running attempt of the job for `key` when it fails for good (the
/// queue keeps only the errors of attempts it will retry). Written outside the job's
/// transaction, which rolls back.
pub async fn record_final_error(db: impl PgExecutor<'_>, key: &str, message: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE underway.task_attempt a SET error_message = $3, updated_at = now()
           FROM underway.task t
           WHERE t.task_queue_name = $1 AND t.concurrency_key = $2 AND t.state = 'in_progress'
             AND a.task_queue_name = t.task_queue_name AND a.task_id = t.id
             AND a.attempt_number = (SELECT max(b.attempt_number) FROM underway.task_attempt b
                                     WHERE b.task_queue_name = t.task_queue_name AND b.task_id = t.id)"#,
        QUEUE,
        key,
        message
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Wakes one idle worker slot (of every worker process): the queue crate starts a slot for
/// each notice of new work, so a worker starting with a backlog is woken once per slot.
/// (Identical notices of one transaction are folded into one: each is sent on its own.)
pub async fn wake_worker_slot(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT pg_notify('task_change', json_build_object('task_queue_name', $1::text)::text) AS \"notified!: ()\"",
        QUEUE
    )
    .fetch_one(db)
    .await?;
    Ok(())
}

/// Says what the job working on `key` is doing (outside its transaction: others see it now).
pub async fn set_step(db: impl PgExecutor<'_>, key: &str, step: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO job_activity (job_key, step) VALUES ($1, $2)
         ON CONFLICT (job_key) DO UPDATE SET step = excluded.step, updated_at = now()",
        key,
        step
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The job working on `key` is done with it.
pub async fn clear_step(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM job_activity WHERE job_key = $1", key).execute(db).await?;
    Ok(())
}

/// How many jobs ran to success with each key: the fault tests count that every job ran
/// exactly once.
pub async fn succeeded_per_key(db: impl PgExecutor<'_>, prefix: &str) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT concurrency_key AS "key!", count(*) AS "count!" FROM underway.task
           WHERE task_queue_name = $1 AND state = 'succeeded' AND starts_with(concurrency_key, $2)
           GROUP BY 1 ORDER BY 1"#,
        QUEUE,
        prefix
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.key, r.count)).collect())
}
