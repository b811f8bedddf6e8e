//! The periodic GitHub sync of `serve`. Every server process may run it: the sync's advisory
//! lock lets one run at a time, and the others skip their turn.

use std::time::Duration;

use sqlx::PgPool;

use crate::{
    config::GitHubConfig,
    github::{
        sync::{SyncError, SyncReport},
        GitHub,
    },
};

/// One sync run now (`unthread sync`, a maintainer's request).
pub async fn run_once(pool: &PgPool, config: &GitHubConfig) -> Result<SyncReport, SyncError> {
    let github =
        GitHub::new(pool.clone(), &config.api_url, config.token.clone()).map_err(|e| SyncError::Failed(e.into()))?;
    crate::github::sync::sync(pool, &github, &config.sync).await
}

/// Syncs every `interval` until the process ends.
pub async fn run_periodically(pool: PgPool, config: GitHubConfig, interval: Duration) {
    let github = match GitHub::new(pool.clone(), &config.api_url, config.token.clone()) {
        Ok(github) => github,
        Err(e) => {
            tracing::error!("GitHub sync disabled: {e}");
            return;
        }
    };
    let config = config.sync;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match crate::github::sync::sync(&pool, &github, &config).await {
            Ok(report) => tracing::info!(
                run = report.run_id,
                issues = report.issues,
                pulls = report.pulls,
                requests = report.requests,
                not_modified = report.not_modified,
                "GitHub sync done"
            ),
            Err(SyncError::AlreadyRunning) => tracing::debug!("GitHub sync skipped: another process is running one"),
            Err(SyncError::Failed(e)) => tracing::warn!("GitHub sync failed (it resumes next time): {e:#}"),
        }
    }
}
