//! One sync run: each epic, its sub-issues (recursively) and the pull requests their
//! timelines say reference them, the issues and pull requests of
//! the tracked repositories that mention an epic or a finding, and every pull request's
//! state and changed files, into Postgres; then the links they imply.
//!
//! Each resource is stored as soon as it is read and its ETag remembered only after that,
//! so a run that fails half-way loses nothing: the next run fetches again what was not
//! stored, and answers 304 (free) for the rest. One run at a time across processes: the run
//! holds a Postgres advisory lock on its own connection.

use db::models::events::{self, About, Event};
use db::models::{github as github_store, links};
use std::{
    collections::{BTreeSet, HashSet, VecDeque},
    sync::atomic::Ordering,
};

use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};

use super::{
    client::{GitHub, GitHubError, Page},
    model::{ChangedFile, Issue, IssueRef, PullRequest, TimelineEvent},
    store,
};

const SYNC_LOCK: i64 = 0x756e_7468_7379_6e63; // "unthsync"

#[derive(Clone, Debug, Default)]
pub struct SyncConfig {
    pub epics: Vec<IssueRef>,
    /// `owner/repo` whose issues and pull requests are searched for mentions of an epic.
    pub repositories: Vec<String>,
}

/// What a run cost and brought: the `github.synced` event's payload.
pub use db::models::events::GitHubSynced as SyncReport;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("another sync is running")]
    AlreadyRunning,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Runs one sync, unless another process is running one.
pub async fn sync(pool: &PgPool, github: &GitHub, config: &SyncConfig) -> Result<SyncReport, SyncError> {
    crate::metrics::timed(crate::metrics::SYNC_DURATION, run(pool, github, config)).await
}

async fn run(pool: &PgPool, github: &GitHub, config: &SyncConfig) -> Result<SyncReport, SyncError> {
    // The lock lives as long as this connection: a crashed run cannot leave it held.
    let mut lock = PgConnection::connect_with(&pool.connect_options()).await.context("connecting for the sync lock")?;
    let locked = db::models::locks::try_lock(&mut lock, SYNC_LOCK).await.context("taking the sync lock")?;
    if !locked {
        return Err(SyncError::AlreadyRunning);
    }
    let run_id = github_store::start_sync_run(pool).await.context("recording the sync run")?;
    let counter = |c: &std::sync::atomic::AtomicU32| c.load(Ordering::Relaxed);
    let counters = &github.counters;
    let before = [
        counter(&counters.requests),
        counter(&counters.not_modified),
        counter(&counters.rate_limited),
        counter(&counters.retries),
    ];
    let mut run =
        Run { pool, github, config, report: SyncReport { run_id, ..Default::default() }, pulls: BTreeSet::new() };
    let outcome = run.go().await;
    // This run's share of the client's counters (the client outlives runs in `serve`).
    run.report.requests = counter(&counters.requests) - before[0];
    run.report.not_modified = counter(&counters.not_modified) - before[1];
    run.report.rate_limited = counter(&counters.rate_limited) - before[2];
    run.report.retries = counter(&counters.retries) - before[3];
    let report = run.report;
    let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
    let cost = github_store::SyncCost {
        requests: report.requests,
        not_modified: report.not_modified,
        rate_limited: report.rate_limited,
        retries: report.retries,
    };
    github_store::finish_sync_run(pool, run_id, cost, error.as_deref())
        .await
        .context("recording the end of the sync run")?;
    events::record(pool, &Event::GitHubSynced(report.clone()), About::system())
        .await
        .context("recording the sync event")?;
    // Released before the connection closes: a sync started right after this one returns
    // must find the lock free (closing alone frees it only when the server has noticed).
    let _ = db::models::locks::release(&mut lock, SYNC_LOCK).await;
    let _ = lock.close().await;
    outcome?;
    Ok(report)
}

struct Run<'a> {
    pool: &'a PgPool,
    github: &'a GitHub,
    config: &'a SyncConfig,
    report: SyncReport,
    /// Pull requests met on the way, synced at the end.
    pulls: BTreeSet<IssueRef>,
}

impl Run<'_> {
    async fn go(&mut self) -> anyhow::Result<()> {
        for epic in &self.config.epics {
            self.epic(epic).await.with_context(|| format!("syncing epic {epic}"))?;
        }
        for repository in &self.config.repositories {
            self.repository(repository).await.with_context(|| format!("syncing {repository}"))?;
        }
        for pull in std::mem::take(&mut self.pulls) {
            self.pull(&pull).await.with_context(|| format!("syncing pull request {pull}"))?;
        }
        Ok(())
    }

    async fn epic(&mut self, epic: &IssueRef) -> anyhow::Result<()> {
        let url = self.github.url(&format!("/repos/{}/issues/{}", epic.repository, epic.number));
        let (issue, page): (Issue, Page) = self.github.get_json(&url).await?;
        self.store_issue(&epic.repository, &issue, None).await?;
        self.github.remember(&page).await?;

        let mut queue = VecDeque::from([epic.clone()]);
        let mut seen = HashSet::from([epic.clone()]);
        while let Some(parent) = queue.pop_front() {
            let url = self
                .github
                .url(&format!("/repos/{}/issues/{}/sub_issues?per_page=100", parent.repository, parent.number));
            let (children, pages): (Vec<Issue>, Vec<Page>) = match self.github.get_all(&url).await {
                Ok(found) => found,
                // An issue in a repository without sub-issues support, or since deleted.
                Err(GitHubError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            for child in children {
                let repository = child.repository().unwrap_or_else(|| parent.repository.clone());
                let reference = IssueRef { repository: repository.clone(), number: child.number };
                if child.is_pull_request() {
                    self.pulls.insert(reference);
                    continue;
                }
                self.store_issue(&repository, &child, Some(&parent)).await?;
                let mut db = self.pool.acquire().await?;
                self.report.new_links += links::add_sub_issue(&mut db, child.id, &repository).await?;
                drop(db);
                self.timeline(&reference).await?;
                if seen.insert(reference.clone()) {
                    queue.push_back(reference);
                }
            }
            for page in &pages {
                self.github.remember(page).await?;
            }
        }
        Ok(())
    }

    /// The pull requests that reference a sub-issue (the one that closes it, among them):
    /// they belong to the epic even when their own text names neither it nor a finding. Also
    /// who closed it: the last `closed` event's actor and commit.
    async fn timeline(&mut self, issue: &IssueRef) -> anyhow::Result<()> {
        let url =
            self.github.url(&format!("/repos/{}/issues/{}/timeline?per_page=100", issue.repository, issue.number));
        let (events, pages): (Vec<TimelineEvent>, Vec<Page>) = match self.github.get_all(&url).await {
            Ok(found) => found,
            Err(GitHubError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        self.pulls.extend(events.iter().filter_map(TimelineEvent::referencing_pull));
        let (actor, commit) = TimelineEvent::closer(&events).unwrap_or((None, None));
        db::models::github::set_issue_closer(self.pool, &issue.repository, issue.number, actor, commit).await?;
        for page in &pages {
            self.github.remember(page).await?;
        }
        Ok(())
    }

    /// The repository's issues and pull requests, most recently updated first, that mention
    /// an epic or a finding. Paging stops at the first page GitHub says is unchanged.
    async fn repository(&mut self, repository: &str) -> anyhow::Result<()> {
        let mut next = Some(
            self.github.url(&format!("/repos/{repository}/issues?state=all&sort=updated&direction=desc&per_page=100")),
        );
        while let Some(url) = next {
            let page = self.github.get(&url).await?;
            let items: Vec<Issue> = serde_json::from_slice(&page.body)
                .map_err(|e| GitHubError::Body { url: url.clone(), detail: e.to_string() })?;
            let relevant: Vec<&Issue> = items.iter().filter(|i| self.is_relevant(repository, i)).collect();
            for item in relevant {
                let reference = IssueRef { repository: repository.to_owned(), number: item.number };
                if item.is_pull_request() {
                    self.pulls.insert(reference);
                } else {
                    self.store_issue(repository, item, None).await?;
                }
            }
            self.github.remember(&page).await?;
            next = if page.not_modified { None } else { page.next.clone() };
        }
        Ok(())
    }

    /// Mentions an epic (`owner/repo#n`, its URL, or `#n` within the epic's repository) or
    /// names a finding by its Unthread URL.
    fn is_relevant(&self, repository: &str, item: &Issue) -> bool {
        let text = format!("{}\n{}", item.title, item.body.as_deref().unwrap_or(""));
        text.contains("/findings/")
            || self.config.epics.iter().any(|epic| {
                text.contains(&epic.to_string())
                    || text.contains(&format!("github.com/{}/issues/{}", epic.repository, epic.number))
                    || (epic.repository == repository && mentions_number(&text, epic.number))
            })
    }

    async fn pull(&mut self, reference: &IssueRef) -> anyhow::Result<()> {
        let url = self.github.url(&format!("/repos/{}/pulls/{}", reference.repository, reference.number));
        let (pull, page): (PullRequest, Page) = self.github.get_json(&url).await?;
        let repository = pull.base.repo.as_ref().map(|r| r.full_name.clone()).unwrap_or(reference.repository.clone());
        let mut db = self.pool.acquire().await?;
        self.report.new_links += store::save_pull(&mut db, &repository, &pull).await?;
        self.report.pulls += 1;
        self.github.remember(&page).await?;

        let files_url =
            self.github.url(&format!("/repos/{}/pulls/{}/files?per_page=100", reference.repository, reference.number));
        let (files, pages): (Vec<ChangedFile>, Vec<Page>) = self.github.get_all(&files_url).await?;
        let files: Vec<String> = files.into_iter().map(|f| f.filename).collect();
        github_store::set_pull_files(&mut *db, pull.id, &files).await?;
        self.report.new_links += links::add_by_path(&mut db, pull.id, &repository, &files).await?;
        for page in &pages {
            self.github.remember(page).await?;
        }
        Ok(())
    }

    async fn store_issue(&mut self, repository: &str, issue: &Issue, parent: Option<&IssueRef>) -> anyhow::Result<()> {
        if issue.is_pull_request() {
            self.pulls.insert(IssueRef { repository: repository.to_owned(), number: issue.number });
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        self.report.new_links += store::save_issue(&mut tx, repository, issue, parent).await?;
        tx.commit().await?;
        self.report.issues += 1;
        Ok(())
    }
}

/// `#n` as a whole reference (not `#n0`, not `x#n`).
fn mentions_number(text: &str, number: i32) -> bool {
    let needle = format!("#{number}");
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '/') && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::mentions_number;

    #[test]
    fn number_mentions() {
        assert!(mentions_number("Part of #38680.", 38680));
        assert!(!mentions_number("see #386801", 38680));
        assert!(!mentions_number("other/repo#38680", 38680));
    }
}
