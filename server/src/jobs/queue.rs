//! Unthread's durable job queue: every job kind on one `underway` queue in the same
//! PostgreSQL (see docs/architecture.md, "Jobs").
//!
//! - **Durable, shared**: jobs are rows; any number of worker processes on any number of
//!   machines take them with `FOR UPDATE SKIP LOCKED`.
//! - **Exactly-once effects**: a job runs inside a transaction that also marks it done; its
//!   writes (a scan, the pins of a requirements file, the jobs it enqueues) commit with that
//!   mark or not at all. A worker killed mid-job stops heart-beating, its transaction rolls
//!   back, and another worker takes the job once its lease ([`LEASE`]) runs out.
//! - **One job per work**: each job has a key naming its kind, target and revision; a second
//!   request for the same work while one waits or runs is folded into it (and may lift its
//!   priority).
//! - **Retries** with exponential backoff; after [`MAX_ATTEMPTS`] the job is dead, keeping
//!   the error of each attempt.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use db::models::jobs::{self as job_rows, QUEUE};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use underway::{
    task::{Error as TaskError, Result as TaskResult, RetryPolicy},
    Queue, Task,
};

/// Attempts before a job is dead.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long a running job may go without a heartbeat before another worker takes it over.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(15);
/// The longest a job may run.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// What a job does. The tag is the job's kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// Scan a tracked repository at a commit (or a branch's head), from GitHub's tarball.
    ScanRepository { target: String, commit: String },
    /// Start tracking a repository from GitHub: read its default branch, then scan that
    /// branch's head (no checkout needed).
    TrackRepository { target: String },
    /// Scan a pinned dependency at a version from the package index, or at a commit of its
    /// GitHub repository for a direct reference.
    ScanDependency {
        name: String,
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        github: Option<DirectReference>,
        /// What asked for this version, when it explains the scan's fixes: "bumping NAME 1.2
        /// → 1.3 in <file> at <commit> of <repository>".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
    /// Re-read a repository's requirements file at a commit: pins, `# via` edges, and scans
    /// of the versions not scanned yet.
    RegisterRequirements { target: String, commit: String, path: String },
    /// One GitHub sync of the followed epics.
    GithubSync { period: i64 },
    /// The weekly report's scheduled export.
    WeeklyReport { week: String },
    /// Enqueue a rescan of every target not scanned within the last `interval` seconds.
    Sweep { period: i64, interval: u64 },
    /// Recompute which modules the tracked repositories reach by imports (after scans).
    Reachability,
    /// Look up a pinned dependency's releases on the package index and scan the newest (and
    /// the newest of the pinned major version) for upgrade advice.
    CheckUpgrades { name: String },
    /// Open the pull request of a change (`db::models::changes`).
    OpenChange { change: i64 },
    /// Does nothing: measures the queue itself (benchmarks, fault tests).
    Noop { label: String },
}

/// A pin that is a `git+https://github.com/<owner>/<repo>.git@<ref>` reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectReference {
    pub repository: String,
    pub git_ref: String,
}

impl JobSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::ScanRepository { .. } => "scan_repository",
            JobSpec::TrackRepository { .. } => "track_repository",
            JobSpec::ScanDependency { .. } => "scan_dependency",
            JobSpec::RegisterRequirements { .. } => "register_requirements",
            JobSpec::GithubSync { .. } => "github_sync",
            JobSpec::WeeklyReport { .. } => "weekly_report",
            JobSpec::Sweep { .. } => "sweep",
            JobSpec::Reachability => "reachability",
            JobSpec::CheckUpgrades { .. } => "check_upgrades",
            JobSpec::OpenChange { .. } => "open_change",
            JobSpec::Noop { .. } => "noop",
        }
    }

    /// Names the work: kind, target, revision. One job per key waits or runs at a time.
    pub fn key(&self) -> String {
        let kind = self.kind();
        match self {
            JobSpec::ScanRepository { target, commit } => format!("{kind}:{target}@{commit}"),
            JobSpec::TrackRepository { target } => format!("{kind}:{target}"),
            JobSpec::ScanDependency { name, version, .. } => format!("{kind}:{name}@{version}"),
            JobSpec::RegisterRequirements { target, commit, path } => format!("{kind}:{target}@{commit}:{path}"),
            JobSpec::GithubSync { period } => format!("{kind}:{period}"),
            JobSpec::Sweep { period, interval } => format!("{kind}:{interval}s:{period}"),
            JobSpec::WeeklyReport { week } => format!("{kind}:{week}"),
            JobSpec::Reachability => kind.to_owned(),
            JobSpec::CheckUpgrades { name } => format!("{kind}:{name}"),
            JobSpec::OpenChange { change } => format!("{kind}:{change}"),
            JobSpec::Noop { label } => format!("{kind}:{label}"),
        }
    }
}

pub use super::kinds::{known_kind, KINDS};

/// Who asked, which decides what runs first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// The periodic sweep.
    Sweep = 0,
    /// Follow-ups: dependency scans a pin change asked for, syncs, reports.
    Background = 10,
    /// A push or merge on GitHub.
    Push = 50,
    /// A maintainer's "Rescan now".
    Maintainer = 100,
}

/// A job's input as stored: the work, and when and why it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInput {
    #[serde(flatten)]
    pub spec: JobSpec,
    pub requested_at: DateTime<Utc>,
    /// `push`, `merge`, `sweep`, `maintainer:<login>`, `requirements`, `schedule`, ...
    pub reason: String,
}

/// How a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (the network, GitHub's 5xx, the database).
    #[error("{0}")]
    Retry(String),
    /// Trying again will not help (gone, private, corrupt, too large): the job is dead now.
    #[error("{0}")]
    Fail(String),
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}

/// Runs jobs; what the workers hand each job to. `conn` is inside the job's transaction:
/// what the job writes through it commits with the job's completion.
pub trait Runner: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        conn: &'a mut sqlx::PgConnection,
        input: JobInput,
    ) -> futures::future::BoxFuture<'a, Result<(), JobError>>;
}

/// The `underway` task: on the enqueuing side it carries the new job's key and priority; on
/// a worker, the runner.
#[derive(Clone)]
pub struct UnthreadTask {
    /// The runner, and the pool for what is written beside the job's transaction.
    runner: Option<(Arc<dyn Runner>, sqlx::PgPool)>,
    key: Option<String>,
    priority: i32,
}

impl Task for UnthreadTask {
    type Input = JobInput;
    type Output = ();

    async fn execute(&self, tx: Transaction<'_, Postgres>, input: JobInput) -> TaskResult<()> {
        let Some((runner, pool)) = &self.runner else {
            return Err(TaskError::Fatal("this process only enqueues jobs".into()));
        };
        // A savepoint of the worker's transaction, which marks the job done with it.
        let mut tx = tx;
        let key = input.spec.key();
        let started = std::time::Instant::now();
        let kind = input.spec.kind();
        let requested_at = input.requested_at;
        let result = runner.run(&mut tx, input).await;
        crate::metrics::job_finished(kind, started.elapsed(), result.is_ok());
        match result {
            Ok(()) => {
                tx.commit().await?;
                crate::metrics::job_latency(kind, requested_at);
                Ok(())
            }
            Err(JobError::Retry(message)) => {
                tracing::warn!(job = %key, "job failed (it is retried): {message}");
                Err(TaskError::Retryable(message))
            }
            Err(JobError::Fail(message)) => {
                tracing::warn!(job = %key, "job failed for good: {message}");
                if let Err(e) = job_rows::record_final_error(pool, &key, &message).await {
                    tracing::warn!(job = %key, "the job's error was not kept: {e}");
                }
                Err(TaskError::Fatal(message))
            }
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::builder()
            .max_attempts(MAX_ATTEMPTS)
            .initial_interval_ms(2_000)
            .max_interval_ms(5 * 60 * 1_000)
            .backoff_coefficient(2.0)
            .build()
    }

    fn timeout(&self) -> jiff::Span {
        jiff::Span::new().seconds(TIMEOUT.as_secs() as i64)
    }

    fn heartbeat(&self) -> jiff::Span {
        jiff::Span::new().seconds(LEASE.as_secs() as i64)
    }

    fn concurrency_key(&self) -> Option<String> {
        self.key.clone()
    }

    fn priority(&self) -> i32 {
        self.priority
    }
}

/// What enqueuing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    New(uuid::Uuid),
    /// The same work was already waiting or running: this is that job.
    Folded(uuid::Uuid),
}

impl Enqueued {
    pub fn id(self) -> uuid::Uuid {
        match self {
            Enqueued::New(id) | Enqueued::Folded(id) => id,
        }
    }
}

/// Puts jobs on the queue. Cheap to clone; the queue's row is registered on first use.
#[derive(Clone)]
pub struct Jobs {
    pool: sqlx::PgPool,
    queue: Arc<tokio::sync::OnceCell<Arc<Queue<UnthreadTask>>>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jobs")
    }
}

impl Jobs {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool, queue: Arc::default() }
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    pub async fn queue(&self) -> Result<Arc<Queue<UnthreadTask>>, underway::queue::Error> {
        self.queue
            .get_or_try_init(|| async {
                Ok(Arc::new(Queue::builder().name(QUEUE).pool(self.pool.clone()).build().await?))
            })
            .await
            .cloned()
    }

    /// Enqueues `spec` through `db` (a pool, or a transaction: then the job exists only if
    /// that commits), folding it into a job already waiting or running for the same key.
    pub async fn enqueue(
        &self,
        conn: &mut sqlx::PgConnection,
        spec: JobSpec,
        priority: Priority,
        reason: &str,
    ) -> Result<Enqueued, underway::queue::Error> {
        use sqlx::Connection;
        let queue = self.queue().await?;
        let key = spec.key();
        let task = UnthreadTask { runner: None, key: Some(key.clone()), priority: priority as i32 };
        let input = JobInput { spec, requested_at: Utc::now(), reason: reason.to_owned() };
        if let Some((id, waiting_priority)) = job_rows::active_with_key(&mut *conn, &key).await? {
            if waiting_priority < priority as i32 {
                job_rows::raise_priority(&mut *conn, id, priority as i32).await?;
            }
            return Ok(Enqueued::Folded(id));
        }
        // Two requests at once: the queue's unique index lets one in; the other is folded.
        let mut attempt = conn.begin().await?;
        match queue.enqueue(&mut *attempt, &task, &input).await {
            Ok(id) => {
                attempt.commit().await?;
                Ok(Enqueued::New(*id))
            }
            Err(underway::queue::Error::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                attempt.rollback().await?;
                match job_rows::active_with_key(&mut *conn, &key).await? {
                    Some((id, _)) => Ok(Enqueued::Folded(id)),
                    None => Err(underway::queue::Error::Database(sqlx::Error::Protocol(format!(
                        "{key}: refused as a duplicate, yet no such job is waiting"
                    )))),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Runs jobs with up to `concurrency` at once until `shutdown` is cancelled; running jobs
    /// then finish (up to their timeout).
    pub async fn work(
        &self,
        runner: Arc<dyn Runner>,
        concurrency: usize,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()> {
        let queue = self.queue().await?;
        let task = UnthreadTask { runner: Some((runner, self.pool.clone())), key: None, priority: 0 };
        let mut worker = underway::Worker::new(queue, task);
        worker.set_concurrency_limit(concurrency.max(1));
        worker.set_shutdown_token(shutdown);
        // A backlog (jobs queued while no worker ran) gets every slot at once, not one more
        // slot per poll: wake each slot once the worker listens.
        let pool = self.pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            for _ in 0..concurrency.max(1) {
                if let Err(e) = job_rows::wake_worker_slot(&pool).await {
                    tracing::debug!("waking worker slots: {e}");
                    break;
                }
            }
        });
        // New jobs wake the worker at once (LISTEN); the poll finds retries that came due.
        worker.run_every(jiff::Span::new().seconds(1)).await?;
        Ok(())
    }
}

/// `git+https://github.com/<owner>/<repo>[.git][@<ref>][#...]` as a repository and ref.
pub fn github_reference(direct_url: &str) -> Option<DirectReference> {
    let rest = direct_url.strip_prefix("git+https://github.com/")?;
    let rest = rest.split('#').next()?;
    let (path, git_ref) = match rest.rsplit_once('@') {
        Some((path, git_ref)) if !git_ref.is_empty() => (path, git_ref),
        _ => (rest, "HEAD"),
    };
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let (owner, repo) = path.split_once('/')?;
    let plain = |s: &str| {
        !s.is_empty() && !s.starts_with('.') && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    // A ref outside git's grammar (`x/../../../other/tarball/main`) is no reference to fetch.
    let git_ref = crate::github::refs::check(git_ref).ok()?;
    (plain(owner) && plain(repo))
        .then(|| DirectReference { repository: format!("{owner}/{repo}"), git_ref: git_ref.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::github_reference;

    #[test]
    fn direct_references_to_github() {
        let xblock = github_reference("git+https://github.com/openedx/xblock.git@add-required-attrs").unwrap();
        assert_eq!((xblock.repository.as_str(), xblock.git_ref.as_str()), ("openedx/xblock", "add-required-attrs"));
        let contrib =
            github_reference("git+https://github.com/openedx/xblocks-contrib.git@main#egg=xblocks-contrib").unwrap();
        assert_eq!((contrib.repository.as_str(), contrib.git_ref.as_str()), ("openedx/xblocks-contrib", "main"));
        let head = github_reference("git+https://github.com/org/tool.git#egg=Some_Tool").unwrap();
        assert_eq!(head.git_ref, "HEAD");
        assert_eq!(github_reference("git+https://gitlab.com/a/b.git@main"), None);
        assert_eq!(github_reference("git+https://github.com/a/b/c.git@main"), None);
        assert_eq!(github_reference("git+https://github.com/../x.git@main"), None);
        assert_eq!(github_reference("git+https://github.com/acme/lib.git@x/../../../private/tarball/main"), None);
        assert_eq!(github_reference("git+https://github.com/acme/lib.git@x%2F..%2Fprivate"), None);
    }
}
