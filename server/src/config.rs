//! What the server, its handlers and its jobs run with: plain values read once from the
//! command line and the environment ([`crate::cli`] turns its arguments into these, checking
//! them), so that nothing past the command line depends on clap.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::{
    auth::AuthConfig,
    github::{sync::SyncConfig, IssueRef},
    jobs::weekly_report::Schedule,
};

/// Where GitHub is, how to reach it, and what to follow there.
#[derive(Clone, Debug, Default)]
pub struct GitHubConfig {
    /// GitHub's REST API, e.g. `https://api.github.com`.
    pub api_url: String,
    pub token: Option<String>,
    /// The epics and repositories a sync follows.
    pub sync: SyncConfig,
}

/// `unthread serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// The built site (`scripts/build-site.sh`) and its assets' sub-directory.
    pub site_root: String,
    pub site_pkg_dir: String,
    /// Load the demo data set before serving.
    pub demo: bool,
    pub auth: AuthConfig,
    pub github: GitHubConfig,
    /// Shared secret of the GitHub webhook; deliveries are refused without one.
    pub webhook_secret: Option<String>,
    /// Sync GitHub this often (none: only on request).
    pub sync_interval: Option<Duration>,
    /// Jobs run at once in this process (0: none).
    pub workers: usize,
    /// Rescan targets not scanned for this long (none: never).
    pub rescan_interval: Option<Duration>,
    pub jobs: JobsConfig,
    pub reports: ReportConfig,
    /// Requests per client to the sign-in, token and upload endpoints.
    pub rate_limit: crate::rate_limit::RateLimit,
    /// Connections held open, and how long an idle one is kept.
    pub connections: crate::listen::ConnectionLimits,
    pub live_streams: StreamLimits,
}

/// Live-update streams held open at once.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    pub total: usize,
    pub per_client: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self { total: 2000, per_client: 64 }
    }
}

/// How weekly reports are made, posted and scheduled.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    pub timezone: chrono_tz::Tz,
    /// A claim with no activity for this many days is stale.
    pub stale_after_days: u32,
    /// Maintainers may post reports to this issue (needs a token).
    pub issue: Option<IssueRef>,
    /// Export the last complete week at this time every week.
    pub schedule: Option<Schedule>,
    /// Where the scheduled export writes its files.
    pub directory: Option<PathBuf>,
}

/// How jobs fetch what they scan.
#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// The package index's Simple API root.
    pub index_url: String,
    /// Downloads are kept here.
    pub cache_dir: PathBuf,
    pub limits: Limits,
}

/// Limits on what a job downloads.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A repository archive larger than this fails its job (clearly) instead of filling
    /// memory: archives are read in memory, never unpacked to disk.
    pub max_archive_bytes: u64,
    /// A requirements file larger than this is refused.
    pub max_requirements_bytes: u64,
    /// How much of a downloaded archive is unpacked, kept and believed.
    pub archive: scanner::ArchiveLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_archive_bytes: 512 * 1024 * 1024,
            max_requirements_bytes: 4 * 1024 * 1024,
            archive: scanner::ArchiveLimits::default(),
        }
    }
}
