//! Tracking repositories straight from GitHub (`unthread track`, `serve --repo`, /admin): a
//! repository becomes a target and its first scan is queued — GitHub's metadata gives the
//! default branch, whose head is scanned from the tarball — with no checkout anywhere.
//! Stopping keeps the history and queues nothing more.

use db::{kinds::TargetKind, models::targets::Tracking};
use sqlx::PgPool;

use super::queue::{JobSpec, Jobs, Priority};

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("{0}")]
    BadName(String),
    #[error("{0} is tracked as a dependency (by its PyPI name): a repository is named owner/name")]
    Dependency(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("queueing its first scan: {0}")]
    Queue(#[from] underway::queue::Error),
}

/// Tracks `name` (`owner/name`) and queues its first scan (a repository tracked already is
/// rescanned only if it has never been scanned). `reason` says who asked (`cli`,
/// `--repo`, `maintainer:<login>`).
pub async fn track(pool: &PgPool, jobs: &Jobs, name: &str, reason: &str) -> Result<Tracking, TrackError> {
    TargetKind::Library.check_name(name).map_err(TrackError::BadName)?;
    crate::github::refs::check_repository(name).map_err(|e| TrackError::BadName(e.to_string()))?;
    let mut tx = pool.begin().await?;
    let tracking = db::models::targets::track_repository(&mut tx, name)
        .await?
        .ok_or_else(|| TrackError::Dependency(name.to_owned()))?;
    if !matches!(tracking, Tracking::Already(_)) {
        record(&mut tx, EventKind::Tracked, tracking.id(), name, reason).await?;
    }
    let scanned = db::models::commit_order::latest_scanned(&mut *tx, tracking.id()).await?.is_some();
    if !matches!(tracking, Tracking::Already(_)) || !scanned {
        jobs.enqueue(&mut tx, JobSpec::TrackRepository { target: name.to_owned() }, Priority::Maintainer, reason)
            .await?;
    }
    tx.commit().await?;
    Ok(tracking)
}

/// Stops tracking `name`; its waiting scans are cancelled. False when it was not tracked.
/// `reason` says who asked, as for [`track`].
pub async fn untrack(pool: &PgPool, name: &str, reason: &str) -> Result<bool, TrackError> {
    let mut tx = pool.begin().await?;
    let stopped = db::models::targets::untrack_repository(&mut *tx, name).await?;
    if stopped {
        db::models::jobs::supersede_waiting_scans(&mut *tx, name, "").await?;
        if let Some(id) = db::models::targets::id_by_name(&mut *tx, name).await? {
            record(&mut tx, EventKind::Untracked, id, name, reason).await?;
        }
    }
    tx.commit().await?;
    Ok(stopped)
}

enum EventKind {
    Tracked,
    Untracked,
}

/// The event of tracking starting or stopping: the person is the actor when a maintainer
/// asked (`maintainer:<login>`), else the system, with where it came from.
async fn record(
    tx: &mut sqlx::PgConnection,
    kind: EventKind,
    target_id: i64,
    repository: &str,
    reason: &str,
) -> sqlx::Result<()> {
    use db::models::events::{self, About, Event, RepositoryTracking};
    let (actor, via) = match reason.strip_prefix("maintainer:") {
        Some(login) => (Some(login), "/admin"),
        None => (None, reason),
    };
    let payload = RepositoryTracking { repository: repository.to_owned(), via: via.to_owned() };
    let event = match kind {
        EventKind::Tracked => Event::RepositoryTracked(payload),
        EventKind::Untracked => Event::RepositoryUntracked(payload),
    };
    events::record(&mut *tx, &event, About { actor, target_id: Some(target_id), ..Default::default() }).await?;
    Ok(())
}
