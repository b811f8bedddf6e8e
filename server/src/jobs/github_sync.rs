//! A GitHub sync run on request (`unthread sync`, `POST /api/v1/sync`); the periodic one is a
//! `github_sync` job ([`super::schedule`]). The sync's advisory lock lets one run at a time.

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
