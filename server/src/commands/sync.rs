//! `unthread sync`: one GitHub sync run, with what it cost.

use sqlx::PgPool;

use crate::{config::GitHubConfig, github::sync::SyncError};

pub async fn sync(pool: &PgPool, config: &GitHubConfig) -> anyhow::Result<()> {
    match crate::jobs::github_sync::run_once(pool, config).await {
        Ok(report) => {
            println!(
                "sync #{}: {} issues, {} pull requests, {} new links; {} requests ({} answered 304 Not Modified), {} rate-limit waits, {} retries",
                report.run_id,
                report.issues,
                report.pulls,
                report.new_links,
                report.requests,
                report.not_modified,
                report.rate_limited,
                report.retries
            );
            Ok(())
        }
        Err(SyncError::AlreadyRunning) => {
            println!("another sync is running; nothing to do");
            Ok(())
        }
        Err(SyncError::Failed(e)) => {
            Err(e.context("GitHub sync failed (what was fetched is kept; run it again to resume)"))
        }
    }
}
