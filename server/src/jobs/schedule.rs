//! Work that comes due with time, put on the job queue: the GitHub sync every
//! `--sync-interval`, the rescan sweep every `--rescan-interval`, the weekly report at its
//! schedule. Every server process runs this; each period's job is enqueued once across
//! processes (its key names the period, and enqueuing checks for it under a lock).

use std::time::Duration;

use chrono::Utc;
use db::{
    kinds::TargetKind,
    models::{jobs as job_rows, locks, packages, targets},
};
use sqlx::{PgConnection, PgPool};

use super::{
    queue::{github_reference, JobError, JobSpec, Jobs, Priority},
    weekly_report::Schedule,
};

/// What comes due, and how often.
#[derive(Clone, Debug, Default)]
pub struct Periodic {
    pub sync_interval: Option<Duration>,
    pub rescan_interval: Option<Duration>,
    pub weekly_report: Option<(Schedule, chrono_tz::Tz)>,
}

impl Periodic {
    pub fn is_empty(&self) -> bool {
        self.sync_interval.is_none() && self.rescan_interval.is_none() && self.weekly_report.is_none()
    }

    /// The jobs due now.
    pub fn due(&self, now: chrono::DateTime<Utc>) -> Vec<JobSpec> {
        let period = |every: Duration| now.timestamp().div_euclid(every.as_secs().max(1) as i64);
        let mut due = Vec::new();
        if let Some(every) = self.sync_interval {
            due.push(JobSpec::GithubSync { period: period(every) });
        }
        if let Some(every) = self.rescan_interval {
            due.push(JobSpec::Sweep { period: period(every), interval: every.as_secs() });
        }
        if let Some((schedule, tz)) = self.weekly_report {
            if let Some(week) = schedule.due(now, tz) {
                due.push(JobSpec::WeeklyReport { week: week.to_string() });
            }
        }
        due
    }
}

/// Enqueues what is due every half minute until the process ends.
pub async fn run(pool: PgPool, jobs: Jobs, periodic: Periodic) {
    if periodic.is_empty() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(30));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for spec in periodic.due(Utc::now()) {
            let key = spec.key();
            match enqueue_once(&pool, &jobs, spec).await {
                Ok(true) => tracing::info!(job = %key, "periodic job queued"),
                Ok(false) => {}
                Err(e) => tracing::warn!(job = %key, "periodic job not queued (next tick tries again): {e}"),
            }
        }
    }
}

/// Enqueues `spec` unless a job with its key was ever queued (within the queue's
/// retention): one per period across processes.
pub async fn enqueue_once(pool: &PgPool, jobs: &Jobs, spec: JobSpec) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    locks::for_transaction(&mut tx, "unthread.schedule", 0).await?;
    if job_rows::any_with_key(&mut *tx, &spec.key()).await? {
        return Ok(false);
    }
    let priority = if matches!(spec, JobSpec::Sweep { .. }) { Priority::Sweep } else { Priority::Background };
    jobs.enqueue(&mut tx, spec, priority, "schedule").await?;
    tx.commit().await?;
    Ok(true)
}

/// The sweep job: a rescan of every target whose last complete scan is older than the
/// interval — repositories at their default branch's head, dependencies at what they are
/// pinned to now. A dependency pinned nowhere any more is left alone: nothing says which
/// version to scan, and its findings are not fixed by being unpinned.
pub async fn sweep(jobs: &Jobs, conn: &mut PgConnection, interval: Duration) -> Result<(), JobError> {
    let before = Utc::now() - chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::days(1));
    let due = targets::due_for_rescan(&mut *conn, before).await?;
    let mut queued = 0;
    for target in due {
        let mut specs = rescans_of(&mut *conn, target.id, target.kind, &target.name).await?;
        // A pinned dependency's releases are looked up again: a new one may clear findings.
        if target.kind == TargetKind::Dependency && !specs.is_empty() {
            specs.push(JobSpec::CheckUpgrades { name: target.name.clone() });
        }
        for spec in specs {
            jobs.enqueue(&mut *conn, spec, Priority::Sweep, "sweep")
                .await
                .map_err(|e| JobError::Retry(format!("enqueuing: {e}")))?;
            queued += 1;
        }
    }
    tracing::info!(queued, "rescan sweep");
    Ok(())
}

/// The scans that bring a target up to date: a repository at its default branch's head, a
/// dependency at each version (or direct reference) it is pinned to now — none when it is
/// pinned nowhere.
pub async fn rescans_of(conn: &mut PgConnection, id: i64, kind: TargetKind, name: &str) -> sqlx::Result<Vec<JobSpec>> {
    if kind != TargetKind::Dependency {
        let tracked = targets::tracked_by_id(&mut *conn, id).await?;
        let branch = tracked.and_then(|t| t.default_branch).unwrap_or_else(|| "HEAD".to_owned());
        return Ok(vec![JobSpec::ScanRepository { target: name.to_owned(), commit: branch }]);
    }
    let pins = packages::pins_of_target(&mut *conn, id).await?;
    Ok(pins
        .into_iter()
        .filter_map(|(version, direct_url)| match (version, direct_url.as_deref().and_then(github_reference)) {
            (Some(version), _) => {
                Some(JobSpec::ScanDependency { name: name.to_owned(), version, github: None, cause: None })
            }
            (None, Some(reference)) => Some(JobSpec::ScanDependency {
                name: name.to_owned(),
                version: reference.git_ref.clone(),
                github: Some(reference),
                cause: None,
            }),
            _ => None,
        })
        .collect())
}

/// Why a rescan could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum RescanError {
    #[error("no target is named {0}")]
    Unknown(String),
    #[error("{0} is pinned by no requirements file: nothing says which version to scan")]
    Unpinned(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the job queue: {0}")]
    Queue(#[from] underway::queue::Error),
}

/// Queues the rescans of one target now (a maintainer asked: ahead of everything else).
pub async fn rescan_now(
    pool: &PgPool,
    jobs: &Jobs,
    target: &targets::Tracked,
    reason: &str,
) -> Result<Vec<super::queue::Enqueued>, RescanError> {
    let mut tx = pool.begin().await?;
    let specs = rescans_of(&mut tx, target.id, target.kind, &target.name).await?;
    if specs.is_empty() {
        return Err(RescanError::Unpinned(target.name.clone()));
    }
    let mut queued = Vec::new();
    for spec in specs {
        queued.push(jobs.enqueue(&mut tx, spec, Priority::Maintainer, reason).await?);
    }
    tx.commit().await?;
    Ok(queued)
}

impl app::jobs::Rescans for Jobs {
    fn track<'a>(&'a self, repository: &'a str, by: &'a str) -> app::jobs::TrackFuture<'a> {
        Box::pin(async move {
            use super::tracking::TrackError;
            use app::error::AppError;
            use db::models::targets::Tracking;
            match super::tracking::track(self.pool(), self, repository, &format!("maintainer:{by}")).await {
                Ok(Tracking::Started(_)) => {
                    Ok(format!("{repository} is tracked: a worker scans its default branch next"))
                }
                Ok(Tracking::Resumed(_)) => {
                    Ok(format!("{repository} is tracked again: a worker scans its default branch next"))
                }
                Ok(Tracking::Already(_)) => Ok(format!("{repository} was already tracked")),
                Err(e @ (TrackError::BadName(_) | TrackError::Dependency(_))) => Err(AppError::bad_request(e)),
                Err(TrackError::Database(e)) => Err(AppError::from(e)),
                Err(TrackError::Queue(e)) => {
                    tracing::error!("tracking not queued: {e}");
                    Err(AppError::Unavailable("the job queue is unavailable: try again shortly".into()))
                }
            }
        })
    }

    fn untrack<'a>(&'a self, repository: &'a str, by: &'a str) -> app::jobs::TrackFuture<'a> {
        Box::pin(async move {
            use app::error::AppError;
            match super::tracking::untrack(self.pool(), repository, &format!("maintainer:{by}")).await {
                Ok(true) => {
                    tracing::info!(by, repository, "tracking stopped");
                    Ok(format!("{repository} is no longer tracked (its history stays)"))
                }
                Ok(false) => Err(AppError::not_found(format!("{repository} is not a tracked repository"))),
                Err(super::tracking::TrackError::Database(e)) => Err(AppError::from(e)),
                Err(e) => Err(AppError::internal(e.to_string())),
            }
        })
    }

    fn request_change<'a>(
        &'a self,
        request: &'a app::jobs::ChangeRequest,
        by: &'a db::models::users::User,
    ) -> app::jobs::ChangeFuture<'a> {
        Box::pin(super::changes::request(self.pool(), self, request, by))
    }

    fn rescan<'a>(&'a self, target_id: i64, by: &'a str) -> app::jobs::RescanFuture<'a> {
        Box::pin(async move {
            use app::error::AppError;
            let pool = self.pool();
            let target = targets::tracked_by_id(pool, target_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no target {target_id}")))?;
            let queued = rescan_now(pool, self, &target, &format!("maintainer:{by}")).await.map_err(|e| match e {
                RescanError::Database(e) => AppError::from(e),
                RescanError::Queue(e) => {
                    tracing::error!("rescan not queued: {e}");
                    AppError::Unavailable("the job queue is unavailable".into())
                }
                other => AppError::unprocessable(other),
            })?;
            tracing::info!(by, target = %target.name, jobs = queued.len(), "rescan requested");
            Ok(queued
                .into_iter()
                .map(|job| app::jobs::QueuedJob {
                    id: job.id().to_string(),
                    folded: matches!(job, super::queue::Enqueued::Folded(_)),
                })
                .collect())
        })
    }
}
