//! What each job kind does ([`JobContext`] is the workers' [`Runner`]). Every write goes
//! through the job's connection, so a job's effects commit with its completion: a scan is
//! recorded once, pins change once, follow-up jobs exist only if the job succeeded.

use std::{path::PathBuf, sync::Arc};

use db::{kinds::TargetKind, models::jobs as job_rows, models::targets};
use futures::{future::BoxFuture, FutureExt};
use sqlx::{PgConnection, PgPool};

use super::queue::{github_reference, DirectReference, JobError, JobInput, JobSpec, Jobs, Priority, Runner};
use crate::{
    config::GitHubConfig,
    github::{GitHub, GitHubError},
    ingest::archive::ScannedArchive,
    ingest::scan::{dependency_api_index, ingest_in, ScanInput},
    pypi::{PackageIndex, Requirements},
};

pub use crate::config::Limits;

/// Everything jobs need, shared by a process's workers.
pub struct JobContext {
    pub pool: PgPool,
    pub jobs: Jobs,
    pub github: Arc<GitHub>,
    pub github_config: GitHubConfig,
    pub index: PackageIndex,
    pub limits: Limits,
    /// The weekly report's scheduled export, when `serve` has one.
    pub weekly_export: Option<Arc<super::weekly_report::ScheduledExport>>,
    /// Where users reach the server: the pull requests' links to findings point there.
    pub public_url: String,
}

impl JobContext {
    pub fn new(
        pool: PgPool,
        github_config: GitHubConfig,
        index_url: &str,
        cache_dir: PathBuf,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        // Jobs are retried by the queue, with its own backoff, without holding a worker slot
        // meanwhile: the client tries a request twice, not five times.
        let github =
            GitHub::new(pool.clone(), &github_config.api_url, github_config.token.clone())?.with_max_attempts(2);
        Ok(Self {
            jobs: Jobs::new(pool.clone()),
            github: Arc::new(github),
            index: PackageIndex::new(index_url, &cache_dir.join("distributions"))?,
            pool,
            github_config,
            limits,
            weekly_export: None,
            public_url: crate::cli::ReportArgs::LOCAL_URL.to_owned(),
        })
    }

    /// Says what the job is doing (seen on /admin while it runs).
    async fn step(&self, key: &str, step: impl AsRef<str>) {
        if let Err(e) = job_rows::set_step(&self.pool, key, step.as_ref()).await {
            tracing::debug!("job activity not recorded: {e}");
        }
    }

    async fn run_job(&self, conn: &mut PgConnection, input: JobInput) -> Result<(), JobError> {
        let key = input.spec.key();
        // Only scans say what they are doing (the others are one step).
        let reports_steps = matches!(
            input.spec,
            JobSpec::ScanRepository { .. }
                | JobSpec::ScanDependency { .. }
                | JobSpec::RegisterRequirements { .. }
                | JobSpec::CheckUpgrades { .. }
        );
        let result = match input.spec {
            JobSpec::ScanRepository { target, commit } => self.scan_repository(conn, &key, &target, &commit).await,
            JobSpec::TrackRepository { target } => self.track_repository(conn, &target).await,
            JobSpec::ScanDependency { name, version, github, cause } => {
                self.scan_dependency(conn, &key, &name, &version, github.as_ref(), cause).await
            }
            JobSpec::RegisterRequirements { target, commit, path } => {
                self.register_requirements(conn, &key, &target, &commit, &path).await
            }
            JobSpec::GithubSync { .. } => self.github_sync().await,
            JobSpec::WeeklyReport { week } => self.weekly_report(&week).await,
            JobSpec::Sweep { interval, .. } => {
                super::schedule::sweep(&self.jobs, conn, std::time::Duration::from_secs(interval)).await
            }
            JobSpec::Reachability => self.reachability(conn).await,
            JobSpec::CheckUpgrades { name } => self.check_upgrades(conn, &key, &name).await,
            JobSpec::OpenChange { change } => self.open_change(change).await,
            JobSpec::Noop { .. } => Ok(()),
        };
        if reports_steps {
            let _ = job_rows::clear_step(&self.pool, &key).await;
        }
        result
    }

    /// A tracked repository at a commit: its tarball from GitHub, scanned in memory, recorded
    /// as a scan of that commit; its watched requirements files re-read from the same archive.
    async fn scan_repository(
        &self,
        conn: &mut PgConnection,
        key: &str,
        name: &str,
        git_ref: &str,
    ) -> Result<(), JobError> {
        let target = targets::tracked(&mut *conn, name)
            .await?
            .ok_or_else(|| JobError::Fail(format!("{name} is not a tracked target")))?;
        if !target.kind.is_repository() {
            return Err(JobError::Fail(format!("{name} is a dependency: it is scanned by version, not from GitHub")));
        }
        self.step(key, format!("downloading {name}@{git_ref}")).await;
        let archive = self.download_tarball(name, git_ref).await?;
        self.step(key, format!("scanning {name}@{git_ref} ({} bytes)", archive.len())).await;
        let watched: Vec<String> = target.requirements_paths.clone();
        let mut wanted = watched.clone();
        wanted.extend(crate::ingest::owners::OWNER_FILES.iter().map(|p| p.to_string()));
        let scanned = self.scan_archive(conn, target.id, name, archive, wanted, true).await?;
        let commit = scanned.commit.clone().unwrap_or_else(|| git_ref.to_owned());
        if let Some(older) = self.older_than_latest(conn, target.id, &commit, scanned.committed_at).await? {
            tracing::info!(target = name, commit = %commit, "scan not recorded: {older}");
            self.step(key, format!("not recorded: {older}")).await;
            return Ok(());
        }
        self.step(key, format!("recording the scan of {name}@{commit}")).await;
        let input = ScanInput::from_report(target.id, Some(commit.clone()), &scanned.report);
        let summary = ingest_in(&mut *conn, &input).await?;
        self.reachability_after(conn, &summary).await?;
        tracing::info!(
            target = name,
            commit = %commit,
            scan = summary.scan_id,
            new = summary.new,
            fixed = summary.fixed,
            unchanged = summary.already_ingested,
            "repository scanned from GitHub"
        );
        // Who owns it, as its own files say; an unreadable catalog leaves the team it had, a
        // name that is no name unsets it (the repository's files are data, never a reason
        // for its scan to fail).
        let text = |path: &str| scanned.extra.get(path).and_then(|b| std::str::from_utf8(b).ok());
        match crate::ingest::owners::owner_team(text) {
            Ok(team) => {
                let team = team.as_ref().map(|t| (t.team.as_str(), t.source));
                db::models::teams::set_owner_team(&mut *conn, target.id, team).await?;
            }
            Err(e @ crate::ingest::owners::OwnerFileError::BadName { .. }) => {
                tracing::warn!(target = name, commit = %commit, "owner team unset: {e}");
                self.step(key, format!("warning: {e}")).await;
                db::models::teams::set_owner_team(&mut *conn, target.id, None).await?;
            }
            Err(e) => tracing::warn!(target = name, commit = %commit, "owner team not read: {e}"),
        }
        for (path, bytes) in scanned.extra.iter().filter(|(path, _)| watched.contains(path)) {
            self.step(key, format!("reading {path}")).await;
            self.import_requirements(conn, target.id, name, &commit, path, bytes).await?;
        }
        Ok(())
    }

    /// Re-reads one requirements file of a repository at a commit (GitHub's raw contents).
    async fn register_requirements(
        &self,
        conn: &mut PgConnection,
        key: &str,
        name: &str,
        commit: &str,
        path: &str,
    ) -> Result<(), JobError> {
        let target = targets::tracked(&mut *conn, name)
            .await?
            .ok_or_else(|| JobError::Fail(format!("{name} is not a tracked target")))?;
        self.step(key, format!("downloading {path} of {name}@{commit}")).await;
        let bytes = self
            .github
            .raw_file(name, path, commit, self.limits.max_requirements_bytes)
            .await
            .map_err(|e| github_failure(name, commit, e))?;
        targets::watch_requirements(&mut *conn, target.id, path).await?;
        self.import_requirements(conn, target.id, name, commit, path, &bytes).await
    }

    /// Stores a requirements file's pins and enqueues scans of the versions not scanned yet
    /// (in the job's transaction: they exist only if the job completes).
    async fn import_requirements(
        &self,
        conn: &mut PgConnection,
        target_id: i64,
        name: &str,
        commit: &str,
        path: &str,
        bytes: &[u8],
    ) -> Result<(), JobError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| JobError::Fail(format!("{name}@{commit}: {path} is not UTF-8 text")))?;
        let requirements: Requirements = text
            .parse()
            .map_err(|e| JobError::Fail(format!("{name}@{commit}: {path} is not pip-compile output: {e}")))?;
        let imported = crate::ingest::requirements::import(&mut *conn, target_id, path, &requirements).await?;
        let reason = format!("requirements:{name}@{commit}:{path}");
        let short_commit = commit.get(..12).unwrap_or(commit);
        let bumps: std::collections::BTreeMap<&str, String> = imported
            .changed
            .iter()
            .map(|(package, from, to)| {
                (package.as_str(), format!("bumping {package} {from} → {to} in {path} at {short_commit} of {name}"))
            })
            .collect();
        let mut queued = 0;
        for pin in &requirements.pins {
            let (version, github) = match (&pin.version, pin.direct_url.as_deref().and_then(github_reference)) {
                (Some(version), _) if pin.scannable_by_version() => (version.clone(), None),
                (_, Some(reference)) => (reference.git_ref.clone(), Some(reference)),
                _ => continue,
            };
            // A package an Open edX repository publishes is that repository's code: its own
            // pushes rescan it. Otherwise the dependency target, unless this version is what
            // it was last scanned at.
            let scanned_as = match db::models::packages::target_of(&mut *conn, &pin.name).await? {
                Some((_, kind, _)) if kind.is_repository() => continue,
                Some((_, _, target)) => target,
                None => pin.name.clone(),
            };
            if targets::last_scanned_revision(&mut *conn, &scanned_as).await?.as_deref() == Some(version.as_str()) {
                continue;
            }
            let cause = bumps.get(pin.name.as_str()).cloned();
            let spec = JobSpec::ScanDependency { name: pin.name.clone(), version, github, cause };
            self.jobs.enqueue(&mut *conn, spec, Priority::Background, &reason).await.map_err(queue_failure)?;
            queued += 1;
        }
        tracing::info!(
            target = name,
            path,
            pins = imported.pins,
            changed = imported.changed.len(),
            added = imported.added.len(),
            removed = imported.removed.len(),
            queued,
            "requirements re-read"
        );
        Ok(())
    }

    /// A pinned dependency at a version (from the package index) or at a ref of its GitHub
    /// repository (a direct reference).
    async fn scan_dependency(
        &self,
        conn: &mut PgConnection,
        key: &str,
        name: &str,
        version: &str,
        github: Option<&DirectReference>,
        cause: Option<String>,
    ) -> Result<(), JobError> {
        let package = crate::pypi::requirements::normalise(name);
        if package != name {
            return Err(JobError::Fail(format!("{name}: a dependency is named by its normalised name, {package}")));
        }
        let target_id = targets::upsert(&mut *conn, TargetKind::Dependency, name).await?;
        crate::ingest::requirements::link_dependency_target(&mut *conn, target_id, name)
            .await
            .map_err(|e| JobError::Fail(format!("{e:#}")))?;
        let (report, revision) = match github {
            Some(reference) => {
                // A dependency's code is shown to everyone who reads this Unthread: a private
                // repository's is never fetched with the server's token to be shown so.
                let meta = self
                    .github
                    .repository(&reference.repository)
                    .await
                    .map_err(|e| github_failure(&reference.repository, &reference.git_ref, e))?;
                if meta.private {
                    return Err(JobError::Fail(format!(
                        "{} is a private repository: a dependency pinned to it is not scanned (its code would be shown to everyone who reads Unthread)",
                        reference.repository
                    )));
                }
                self.step(key, format!("downloading {}@{}", reference.repository, reference.git_ref)).await;
                let archive = self.download_tarball(&reference.repository, &reference.git_ref).await?;
                self.step(key, format!("scanning {name} at {}@{}", reference.repository, reference.git_ref)).await;
                let scanned = self.scan_archive(conn, target_id, name, archive, Vec::new(), false).await?;
                let revision = scanned.commit.unwrap_or_else(|| reference.git_ref.clone());
                (scanned.report, revision)
            }
            None => {
                self.step(key, format!("downloading {name} {version}")).await;
                let path = self.index.fetch(name, version, &[]).await.map_err(|e| {
                    if e.is_transient() {
                        JobError::Retry(e.to_string())
                    } else {
                        JobError::Fail(e.to_string())
                    }
                })?;
                self.step(key, format!("scanning {name} {version}")).await;
                let options = scanner::ScanOptions {
                    sources: scanner::SourceOptions {
                        include_tests: false,
                        archive: self.limits.archive,
                        ..Default::default()
                    },
                    package: Some(name.to_owned()),
                    api_index: dependency_api_index(&mut *conn, target_id).await?,
                    ..crate::ingest::scan::recorded_scan_options()
                };
                let report = tokio::task::spawn_blocking(move || scanner::scan_path(&path, &options))
                    .await
                    .map_err(|e| JobError::Retry(format!("the scan stopped: {e}")))?
                    .map_err(|e| JobError::Fail(e.to_string()))?;
                (report, version.to_owned())
            }
        };
        self.step(key, format!("recording the scan of {name} {revision}")).await;
        let input = ScanInput { cause, ..ScanInput::from_report(target_id, Some(revision.clone()), &report) };
        let summary = ingest_in(&mut *conn, &input).await?;
        self.reachability_after(conn, &summary).await?;
        if github.is_none() && !summary.already_ingested {
            let spec = JobSpec::CheckUpgrades { name: name.to_owned() };
            self.jobs.enqueue(&mut *conn, spec, Priority::Background, "scan").await.map_err(queue_failure)?;
        }
        tracing::info!(dependency = name, %revision, scan = summary.scan_id, new = summary.new, fixed = summary.fixed, "dependency scanned");
        Ok(())
    }

    /// Reachability again after a scan that recorded something (one waiting job serves any
    /// number of scans: a recomputation reads every latest scan).
    async fn reachability_after(
        &self,
        conn: &mut PgConnection,
        summary: &crate::ingest::scan::IngestSummary,
    ) -> Result<(), JobError> {
        if !summary.already_ingested {
            self.jobs
                .enqueue(&mut *conn, JobSpec::Reachability, Priority::Background, "scan")
                .await
                .map_err(queue_failure)?;
        }
        Ok(())
    }

    /// Recomputes reachability; when scans landed while it ran, once more (a job enqueued
    /// meanwhile was folded into this one).
    async fn reachability(&self, conn: &mut PgConnection) -> Result<(), JobError> {
        loop {
            let before = db::models::scans::latest_id(&mut *conn).await?;
            let summary = db::models::reach::recompute(&mut *conn).await?;
            let via = db::models::runs_at_via::recompute(&mut *conn).await?;
            tracing::info!(
                targets = summary.targets,
                modules = summary.modules,
                reached = summary.reached,
                holders_at_request = via.request,
                holders_in_worker = via.worker,
                open_ends = via.open_ends,
                called_from_other_code = via.called,
                "reachability and cross-package runs-at recomputed"
            );
            if db::models::scans::latest_id(&mut *conn).await? == before {
                return Ok(());
            }
        }
    }

    /// Upgrade advice for a dependency (see [`super::upgrades`]).
    async fn check_upgrades(&self, conn: &mut PgConnection, key: &str, name: &str) -> Result<(), JobError> {
        let step = |text: String| async move { self.step(key, text).await };
        super::upgrades::check(conn, &self.index, name, step).await.map(|_| ())
    }

    /// Starts tracking `name` from GitHub: its default branch from the repository's metadata,
    /// then a scan of that branch's head from the tarball, queued with this job's commit.
    async fn track_repository(&self, conn: &mut PgConnection, name: &str) -> Result<(), JobError> {
        let target = targets::tracked(&mut *conn, name)
            .await?
            .ok_or_else(|| JobError::Fail(format!("{name} is not tracked (or its tracking was stopped)")))?;
        let meta = self.github.repository(name).await.map_err(|e| github_failure(name, "its default branch", e))?;
        if !meta.full_name.eq_ignore_ascii_case(name) {
            tracing::info!(target = name, now = %meta.full_name, "GitHub names the repository differently (renamed or moved)");
        }
        db::models::targets::set_default_branch(&mut *conn, target.id, &meta.default_branch).await?;
        let spec = JobSpec::ScanRepository { target: name.to_owned(), commit: meta.default_branch.clone() };
        self.jobs.enqueue(&mut *conn, spec, Priority::Push, "tracked").await.map_err(queue_failure)?;
        Ok(())
    }

    /// Why a scan of `commit` must not be recorded, when it is older than the target's latest
    /// scan: the scan of an older commit that finishes last never becomes the latest state.
    /// Holds the target's ingest lock from here to the job's commit, so two scans of one
    /// target are ordered and recorded one at a time.
    async fn older_than_latest(
        &self,
        conn: &mut PgConnection,
        target_id: i64,
        commit: &str,
        committed_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<String>, JobError> {
        use db::models::commit_order::{self, Order};
        if let Some(at) = committed_at {
            commit_order::record_commit_time(&mut *conn, target_id, commit, at).await?;
        }
        db::models::locks::for_transaction(&mut *conn, "unthread.ingest", target_id).await?;
        let Some(latest) = commit_order::latest_scanned(&mut *conn, target_id).await? else { return Ok(None) };
        Ok(match commit_order::order(&mut *conn, target_id, &latest, commit).await? {
            Order::Older(evidence) => Some(format!(
                "{} is older than {}, the latest scan ({})",
                &commit[..commit.len().min(12)],
                &latest[..12],
                evidence.describe()
            )),
            Order::Newer(_) | Order::Unknown => None,
        })
    }

    async fn download_tarball(&self, repository: &str, git_ref: &str) -> Result<Vec<u8>, JobError> {
        self.github
            .tarball(repository, git_ref, self.limits.max_archive_bytes)
            .await
            .map_err(|e| github_failure(repository, git_ref, e))
    }

    /// Scans an archive in memory (on the blocking pool: the scan uses every core).
    async fn scan_archive(
        &self,
        conn: &mut PgConnection,
        target_id: i64,
        name: &str,
        archive: Vec<u8>,
        watched: Vec<String>,
        include_tests: bool,
    ) -> Result<ScannedArchive, JobError> {
        let api_index = dependency_api_index(&mut *conn, target_id).await?;
        let name = name.to_owned();
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            let extra: Vec<&str> = watched.iter().map(String::as_str).collect();
            let sources = scanner::SourceOptions { include_tests, archive: limits.archive, ..Default::default() };
            crate::ingest::archive::scan(&archive, &name, api_index, &extra, sources).map_err(JobError::Fail)
        })
        .await
        .map_err(|e| JobError::Retry(format!("the scan stopped: {e}")))?
    }

    /// Opens a change's pull request (see [`super::changes`]).
    async fn open_change(&self, change: i64) -> Result<(), JobError> {
        let context = super::changes::Context {
            pool: &self.pool,
            jobs: &self.jobs,
            github: &self.github,
            limits: self.limits,
            public_url: &self.public_url,
            epic: self.github_config.sync.epics.first().map(|e| format!("{}#{}", e.repository, e.number)),
        };
        super::changes::open(&context, change).await
    }

    async fn github_sync(&self) -> Result<(), JobError> {
        match crate::github::sync::sync(&self.pool, &self.github, &self.github_config.sync).await {
            Ok(report) => {
                tracing::info!(run = report.run_id, issues = report.issues, pulls = report.pulls, "GitHub sync done");
                Ok(())
            }
            // Another process is syncing now: that run is this job's work.
            Err(crate::github::sync::SyncError::AlreadyRunning) => Ok(()),
            Err(crate::github::sync::SyncError::Failed(e)) => Err(JobError::Retry(format!("{e:#}"))),
        }
    }

    async fn weekly_report(&self, week: &str) -> Result<(), JobError> {
        let Some(export) = &self.weekly_export else {
            return Err(JobError::Fail("this worker has no weekly export configured (--report-schedule)".into()));
        };
        super::weekly_report::export_week(&self.pool, export, week)
            .await
            .map(|_| ())
            .map_err(|e| JobError::Retry(format!("{e:#}")))
    }
}

impl Runner for JobContext {
    fn run<'a>(&'a self, conn: &'a mut PgConnection, input: JobInput) -> BoxFuture<'a, Result<(), JobError>> {
        self.run_job(conn, input).boxed()
    }
}

/// A readable reason for GitHub's answer; only what may change later is retried.
fn github_failure(repository: &str, git_ref: &str, error: GitHubError) -> JobError {
    match error {
        GitHubError::NotFound { .. } => JobError::Fail(format!(
            "GitHub has no {repository} at {git_ref}: the repository is gone or private to this token, or the commit is unknown"
        )),
        GitHubError::TooLarge { limit, .. } => {
            JobError::Fail(format!("the archive of {repository}@{git_ref} is larger than the limit of {limit} bytes"))
        }
        GitHubError::Status { status, message, .. } => {
            JobError::Fail(format!("GitHub refused {repository}@{git_ref}: HTTP {status} {message}"))
        }
        e if e.is_transient() => JobError::Retry(e.to_string()),
        e => JobError::Fail(e.to_string()),
    }
}

fn queue_failure(e: underway::queue::Error) -> JobError {
    JobError::Retry(format!("enqueuing: {e}"))
}
