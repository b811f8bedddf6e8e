//! The command line of the `unthread` binary.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use clap::{Parser, Subcommand};
use db::kinds::TargetKind;

use crate::{
    auth::AuthConfig,
    config::{GitHubConfig, ReportConfig, ServeConfig},
    pypi::PYPI_SIMPLE,
};

#[derive(Debug, Parser)]
#[command(name = "unthread", version, about = "Track the move from thread locals to contextvars")]
pub struct Cli {
    /// PostgreSQL to use. Without it, Unthread runs its own cluster in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where Unthread keeps its own PostgreSQL cluster and caches.
    #[arg(long, env = "UNTHREAD_DATA_DIR", default_value = ".unthread", global = true)]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo data set (idempotent) and exit.
    Demo(DemoArgs),
    /// Scan a local checkout and record its findings.
    Scan(ScanArgs),
    /// Record a SARIF 2.1.0 log (unthread-scan, ruff, semgrep, ...) as a scan of a target.
    ImportSarif(ImportSarifArgs),
    /// Fetch the epics, their sub-issues and pull requests from GitHub, once.
    Sync(GitHubArgs),
    /// Export reports.
    Export(ExportArgs),
    /// Run jobs from the queue (scans, syncs, reports) until Ctrl-C or SIGTERM; any number of
    /// workers on any number of machines may share one database.
    Worker(WorkerArgs),
    /// Queue rescans now, ahead of everything else: of the named targets, or of all.
    Rescan(RescanArgs),
    /// Track GitHub repositories: each becomes a target, and a worker scans its default
    /// branch from GitHub's tarball (no checkout); pushes then rescan it.
    Track(TrackArgs),
    /// Stop tracking repositories: their history stays, nothing more is scanned.
    Untrack(TrackArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrackArgs {
    /// Repositories, `owner/name`.
    #[arg(required = true, value_name = "OWNER/NAME")]
    pub repositories: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Jobs run at once by this process.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    #[command(flatten)]
    pub jobs: JobArgs,
    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Debug, clap::Args)]
pub struct RescanArgs {
    /// Targets to rescan (`owner/name` repositories, PyPI names of dependencies).
    #[arg(long = "target", value_name = "NAME", required_unless_present = "all", conflicts_with = "all")]
    pub targets: Vec<String>,
    /// Every tracked target.
    #[arg(long)]
    pub all: bool,
}

/// How jobs fetch what they scan.
#[derive(Clone, Debug, clap::Args)]
pub struct JobArgs {
    /// The package index's Simple API root (PEP 691 JSON), for dependency scans.
    #[arg(long, env = "UNTHREAD_INDEX_URL", default_value = PYPI_SIMPLE)]
    pub index_url: String,
    /// A repository archive larger than this (MiB) fails its scan instead of filling memory.
    #[arg(long, env = "UNTHREAD_MAX_ARCHIVE_MIB", default_value_t = 512)]
    pub max_archive_mib: u64,
    /// An archive that unpacks to more than this (MiB, every member) fails its scan: the
    /// bound on a compression bomb's time.
    #[arg(long, env = "UNTHREAD_MAX_ARCHIVE_UNPACKED_MIB", default_value_t = 2048)]
    pub max_archive_unpacked_mib: u64,
    /// An archive whose sources (the files scanned) hold more than this (MiB) fails its
    /// scan: the bound on the memory one scan takes.
    #[arg(long, env = "UNTHREAD_MAX_ARCHIVE_SOURCES_MIB", default_value_t = 128)]
    pub max_archive_sources_mib: u64,
    /// An archive with more members than this fails its scan.
    #[arg(long, env = "UNTHREAD_MAX_ARCHIVE_MEMBERS", default_value_t = 500_000)]
    pub max_archive_members: u64,
    /// A member's metadata (a long name, a pax header) larger than this (KiB) fails the scan.
    #[arg(long, env = "UNTHREAD_MAX_ARCHIVE_HEADER_KIB", default_value_t = 64)]
    pub max_archive_header_kib: u64,
}

impl JobArgs {
    pub fn config(&self, data_dir: &Path) -> crate::config::JobsConfig {
        crate::config::JobsConfig {
            index_url: self.index_url.clone(),
            cache_dir: data_dir.join("cache"),
            limits: crate::config::Limits {
                max_archive_bytes: self.max_archive_mib.saturating_mul(1024 * 1024),
                archive: scanner::ArchiveLimits {
                    max_unpacked_bytes: self.max_archive_unpacked_mib.saturating_mul(1024 * 1024),
                    max_members: self.max_archive_members,
                    max_kept_bytes: self.max_archive_sources_mib.saturating_mul(1024 * 1024),
                    max_header_bytes: self.max_archive_header_kib.saturating_mul(1024),
                },
                ..Default::default()
            },
        }
    }
}

/// `24h`, `90m`, `30s`, `1d`; `0` for never.
fn interval(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?} is not an interval like 24h or 30m: {e}"))
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A week's status report (default: the last complete week).
    Weekly(WeeklyArgs),
}

#[derive(Debug, clap::Args)]
pub struct WeeklyArgs {
    /// ISO week, e.g. 2026-W47.
    #[arg(long)]
    pub week: Option<String>,
    /// md, csv (a row per target), changes-csv (a row per finding change) or json.
    #[arg(long, default_value = "md")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Post the Markdown as a comment on this issue, `owner/repo#number` (once per week).
    #[arg(long, value_name = "ISSUE")]
    pub post: Option<crate::github::IssueRef>,
    /// With --post: edit the comment posted earlier for this week instead of refusing.
    #[arg(long, requires = "post", conflicts_with = "force")]
    pub update: bool,
    /// With --post: post another comment even though this week was posted.
    #[arg(long, requires = "post")]
    pub force: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// How weekly reports are made.
#[derive(Clone, Debug, clap::Args)]
pub struct ReportArgs {
    /// The timezone report weeks start in (IANA name).
    #[arg(long, env = "UNTHREAD_REPORT_TIMEZONE", default_value = "UTC")]
    pub report_timezone: String,
    /// A claim with no activity for this many days is listed as stale.
    #[arg(long = "stale-days", env = "UNTHREAD_STALE_DAYS", default_value_t = 14)]
    pub stale_after_days: u32,
    /// Where users reach the server: the report's links point there (unset: the local
    /// default, http://127.0.0.1:3000, and the command says so).
    #[arg(long = "report-base-url", env = "UNTHREAD_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl ReportArgs {
    /// Where the report's links point when no public URL is given.
    pub const LOCAL_URL: &'static str = "http://127.0.0.1:3000";

    /// The public URL the report's links use; warns on stderr when it is the local default,
    /// so that nobody posts a report whose links lead to their own machine unknowingly.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => {
                eprintln!(
                    "note: the report's links point to {}: set --report-base-url (or UNTHREAD_PUBLIC_URL) to where users reach the server",
                    Self::LOCAL_URL
                );
                Self::LOCAL_URL.to_owned()
            }
        }
    }
}

/// Where GitHub is and what to follow there.
#[derive(Clone, Debug, clap::Args)]
pub struct GitHubArgs {
    /// GitHub's REST API.
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Token for the API (optional for public data, which then gets 60 requests an hour).
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
    /// Epics to follow, `owner/repo#number`.
    #[arg(
        long = "epic",
        env = "UNTHREAD_EPICS",
        value_delimiter = ',',
        default_value = "openedx/openedx-platform#38680"
    )]
    pub epics: Vec<crate::github::IssueRef>,
    /// Repositories whose issues and pull requests are searched for mentions of an epic.
    #[arg(long = "repo", env = "UNTHREAD_REPOS", value_delimiter = ',')]
    pub repositories: Vec<String>,
    /// Shared secret of the GitHub webhook (`POST /webhooks/github`).
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
}

impl GitHubArgs {
    /// The GitHub settings these arguments give.
    pub fn config(&self) -> GitHubConfig {
        GitHubConfig {
            api_url: self.github_api_url.clone(),
            token: self.github_token.clone().filter(|t| !t.is_empty()),
            sync: crate::github::sync::SyncConfig {
                epics: self.epics.clone(),
                repositories: self.repositories.clone(),
            },
        }
    }
}

impl ServeArgs {
    /// The server's settings, checked: a bad timezone is refused here, before anything starts.
    pub fn config(&self, data_dir: &Path) -> anyhow::Result<ServeConfig> {
        let public_url = self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.addr));
        let auth = AuthConfig {
            client_id: self.github_client_id.clone().filter(|s| !s.is_empty()),
            client_secret: self.github_client_secret.clone().filter(|s| !s.is_empty()),
            github_web_url: self.github_web_url.clone(),
            github_api_url: self.github.github_api_url.clone(),
            public_url,
            public_url_configured: self.public_url.is_some(),
            maintainers: self.maintainers.clone(),
            maintainer_repository: self
                .maintainer_repo
                .clone()
                .or_else(|| self.github.epics.first().map(|e| e.repository.clone())),
            dev_login: self.dev_login,
            private: self.private,
        };
        let reports = ReportConfig {
            timezone: app::report::week::parse_timezone(&self.report_timezone).map_err(anyhow::Error::msg)?,
            stale_after_days: self.stale_after_days,
            issue: self.report_issue.clone(),
            schedule: self.report_schedule,
            directory: self.report_dir.clone(),
        };
        Ok(ServeConfig {
            addr: self.addr,
            site_root: self.site_root.clone(),
            site_pkg_dir: self.site_pkg_dir.clone(),
            demo: self.demo,
            auth,
            github: self.github.config(),
            webhook_secret: self.github.webhook_secret.clone().filter(|s| !s.is_empty()),
            sync_interval: (self.sync_interval > 0).then(|| std::time::Duration::from_secs(self.sync_interval)),
            workers: self.workers,
            rescan_interval: match self.rescan_interval {
                Some(interval) => (!interval.is_zero()).then_some(interval),
                None if self.demo => None,
                None => Some(std::time::Duration::from_secs(24 * 3600)),
            },
            jobs: self.jobs.config(data_dir),
            reports,
            rate_limit: crate::rate_limit::RateLimit {
                per_second: self.rate_limit,
                burst: self.rate_burst,
                trust_forwarded_for: self.trust_forwarded_for,
            },
            connections: crate::listen::ConnectionLimits {
                header_timeout: self.header_timeout,
                max_connections: self.max_connections.max(1),
                max_connections_per_client: self.max_connections_per_client.max(1),
            },
            live_streams: crate::config::StreamLimits {
                total: self.max_live_streams.max(1),
                per_client: self.max_live_streams_per_client.max(1),
            },
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory holding the built site (`pkg/` with the wasm, JS and CSS).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Sub-directory of the site root holding the wasm, JS and CSS.
    #[arg(long, env = "LEPTOS_SITE_PKG_DIR", default_value = "pkg")]
    pub site_pkg_dir: String,

    /// Load the demo data set before serving.
    #[arg(long)]
    pub demo: bool,

    /// The campaign's target date (YYYY-MM-DD, a release cut): stored as the setting /admin
    /// shows, for the projection on the overview and in the weekly report.
    #[arg(long, value_name = "DATE")]
    pub target_date: Option<chrono::NaiveDate>,

    /// Where users reach this server (OAuth redirect: <public-url>/auth/callback; https
    /// makes cookies Secure). Default: http://<addr>.
    #[arg(long, env = "UNTHREAD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// GitHub OAuth app for sign-in.
    #[arg(long, env = "GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    #[arg(long, env = "GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<String>,
    /// GitHub's web origin (authorize and token endpoints).
    #[arg(long, env = "GITHUB_WEB_URL", default_value = "https://github.com")]
    pub github_web_url: String,

    /// Logins that are maintainers (comma-separated).
    #[arg(long = "maintainer", env = "UNTHREAD_MAINTAINERS", value_delimiter = ',')]
    pub maintainers: Vec<String>,
    /// Those who may write to this repository are maintainers (default: the first epic's).
    #[arg(long, env = "UNTHREAD_MAINTAINER_REPO")]
    pub maintainer_repo: Option<String>,

    /// Sign in as anyone without GitHub (demo, tests). Loopback addresses only.
    #[arg(long)]
    pub dev_login: bool,

    /// Only signed-in users may read (default: anyone reads, signing in is for writing).
    #[arg(long, env = "UNTHREAD_PRIVATE")]
    pub private: bool,

    /// Sync GitHub every this many seconds (0: never; `unthread sync` still works).
    #[arg(long, env = "UNTHREAD_SYNC_INTERVAL", default_value_t = 0)]
    pub sync_interval: u64,

    /// Jobs this process runs at once from the queue (0: only serve; run `unthread worker`
    /// processes instead).
    #[arg(long, env = "UNTHREAD_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Rescan every target whose last complete scan is older than this (`24h`, `6h`; `0`:
    /// never). Default 24h; with --demo, never (the demo's data is a snapshot: rescanning it
    /// would fetch every package and repository again).
    #[arg(long, env = "UNTHREAD_RESCAN_INTERVAL", value_parser = interval)]
    pub rescan_interval: Option<std::time::Duration>,
    #[command(flatten)]
    pub jobs: JobArgs,

    /// Weekly reports are posted to this issue (`owner/repo#number`), by maintainers from
    /// the report page or by the schedule. Needs GITHUB_TOKEN.
    #[arg(long, env = "UNTHREAD_REPORT_ISSUE")]
    pub report_issue: Option<crate::github::IssueRef>,
    /// Export the last complete week's report every week at this time, e.g. "mon 09:00"
    /// (in --report-timezone), to --report-dir and/or --report-issue.
    #[arg(long, env = "UNTHREAD_REPORT_SCHEDULE")]
    pub report_schedule: Option<crate::jobs::weekly_report::Schedule>,
    /// Where the scheduled export writes its files.
    #[arg(long, env = "UNTHREAD_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    #[arg(long, env = "UNTHREAD_REPORT_TIMEZONE", default_value = "UTC")]
    pub report_timezone: String,
    /// A claim with no activity for this many days is listed as stale.
    #[arg(long = "stale-days", env = "UNTHREAD_STALE_DAYS", default_value_t = 14)]
    pub stale_after_days: u32,

    /// Requests a second each client may make to sign-in, token and scan-upload endpoints
    /// (a scan upload counts against its token, anything else against the client's address).
    #[arg(long, env = "UNTHREAD_RATE_LIMIT", default_value_t = 10)]
    pub rate_limit: u32,
    /// How many of those requests may come at once after a quiet spell.
    #[arg(long, env = "UNTHREAD_RATE_BURST", default_value_t = 30)]
    pub rate_burst: u32,
    /// Behind a reverse proxy: take the client's address from the first `X-Forwarded-For`
    /// hop (only where the proxy sets it: clients could fake it otherwise).
    #[arg(long, env = "UNTHREAD_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Connections held open at once (fitted to the open-file limit at start).
    #[arg(long, env = "UNTHREAD_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Connections held open at once from one address (behind a reverse proxy every client
    /// has its address: raise it there).
    #[arg(long, env = "UNTHREAD_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256)]
    pub max_connections_per_client: usize,
    /// A request's headers must arrive within this, and a connection idle this long is closed.
    #[arg(long, env = "UNTHREAD_HEADER_TIMEOUT", default_value = "10s", value_parser = interval)]
    pub header_timeout: std::time::Duration,
    /// Live-update streams (`/api/live`, one per open page) at once, in all and per client.
    #[arg(long, env = "UNTHREAD_MAX_LIVE_STREAMS", default_value_t = 2000)]
    pub max_live_streams: usize,
    #[arg(long, env = "UNTHREAD_MAX_LIVE_STREAMS_PER_CLIENT", default_value_t = 64)]
    pub max_live_streams_per_client: usize,

    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Logs to stderr; `RUST_LOG` picks what (default: info for Unthread, warn for the rest).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,unthread_server=info,app=info,db=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Instead of loading the demo, write what `unthread scan --requirements` stored in this
    /// database as a new demo snapshot (gzip JSON). See scripts/demo-snapshot.sh.
    #[arg(long, value_name = "FILE", requires = "requirements")]
    pub write_snapshot: Option<std::path::PathBuf>,
    /// The requirements file that was scanned, bundled with the snapshot.
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<std::path::PathBuf>,
    /// The path the platform repository gives that file.
    #[arg(long, default_value = "requirements/edx/base.txt")]
    pub requirements_path: String,
    /// `package owner/repo` lines: packages that Open edX repositories publish.
    #[arg(long, value_name = "FILE", default_value = "server/demo/openedx-libraries.txt")]
    pub libraries: std::path::PathBuf,
    /// `owner/repo=GIT_DIR`: a library repository to scan at its real first-parent commits
    /// since `--since`, from a git directory (a clone or mirror), instead of at its pin.
    #[arg(long = "history", value_name = "REPO=GIT_DIR", value_parser = parse_history)]
    pub histories: Vec<(String, std::path::PathBuf)>,
    /// Where the histories start (the epic's start).
    #[arg(long, value_name = "DATE", default_value = "2026-06-01")]
    pub since: chrono::NaiveDate,
    /// Instead of loading the demo, scan the platform's files under `--platform-files` (laid
    /// out as in the repository at `--platform-commit`) and put them in this existing
    /// snapshot as a scan of those files only. See scripts/demo-platform-files.sh.
    #[arg(long, value_name = "FILE", requires_all = ["platform_files", "platform_commit"], conflicts_with = "write_snapshot")]
    pub update_snapshot: Option<std::path::PathBuf>,
    /// The directory holding the platform's files (with `--update-snapshot`).
    #[arg(long, value_name = "DIR")]
    pub platform_files: Option<std::path::PathBuf>,
    /// The platform commit those files were read at (a full sha).
    #[arg(long, value_name = "SHA")]
    pub platform_commit: Option<String>,
}

fn parse_history(value: &str) -> Result<(String, std::path::PathBuf), String> {
    let (repository, dir) = value.split_once('=').ok_or("expected owner/repo=GIT_DIR")?;
    if repository.split('/').count() != 2 || repository.split('/').any(str::is_empty) {
        return Err(format!("{repository:?} is not owner/repo"));
    }
    Ok((repository.to_owned(), dir.into()))
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// A checkout of the repository to scan.
    #[arg(required_unless_present = "requirements")]
    pub path: Option<PathBuf>,
    /// A pip-compile requirements file of the repository: register its pins and `# via`
    /// graph, then download and scan every pinned distribution as a dependency target.
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// The package index's Simple API root (PEP 691 JSON), for `--requirements`.
    #[arg(long, env = "UNTHREAD_INDEX_URL", default_value = PYPI_SIMPLE)]
    pub index_url: String,
    /// Downloads in flight at once, for `--requirements`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The repository, `owner/name` (default: from the checkout's `origin` remote on GitHub).
    #[arg(long)]
    pub target: Option<String>,
    /// How the target relates to the migration. A `dependency` target's name is its PyPI
    /// name; its thread-local APIs then feed the scans of repositories that pin it.
    #[arg(long, default_value = "library")]
    pub kind: TargetKind,
    /// The commit scanned (default: the checkout's HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// Skip tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`). Dependencies' tests
    /// are always skipped: they do not run in production.
    #[arg(long)]
    pub exclude_tests: bool,
    /// With `--requirements`: look up each dependency with open findings on the index and
    /// scan its newer releases for upgrade advice (what a bump would clear).
    #[arg(long)]
    pub check_upgrades: bool,
}

impl ScanArgs {
    /// Scan the checkout at `path` as the target `target` of kind `kind`.
    pub fn checkout(path: &Path, target: &str, kind: TargetKind) -> Self {
        Self {
            path: Some(path.to_owned()),
            requirements: None,
            index_url: PYPI_SIMPLE.to_owned(),
            concurrency: 8,
            target: Some(target.to_owned()),
            kind,
            revision: None,
            exclude_tests: false,
            check_upgrades: false,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportSarifArgs {
    /// The SARIF file.
    pub file: PathBuf,
    /// The target scanned: `owner/name` for a repository, the PyPI name for a dependency.
    #[arg(long)]
    pub target: String,
    #[arg(long, default_value = "library")]
    pub kind: TargetKind,
    /// Absolute directory the tool scanned, for tools that write absolute `file://` URIs.
    #[arg(long)]
    pub root: Option<String>,
    /// Commit sha or version scanned.
    #[arg(long)]
    pub revision: Option<String>,
}
