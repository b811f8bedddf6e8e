//! `unthread serve`: the web application, until Ctrl-C or SIGTERM.

use sqlx::PgPool;

use crate::{config::ServeConfig, router};

pub async fn serve(pool: PgPool, config: ServeConfig) -> anyhow::Result<()> {
    let options = router::leptos_options(&config.site_root, &config.site_pkg_dir, config.addr);
    let pkg = std::path::Path::new(&config.site_root).join(&config.site_pkg_dir);
    if !pkg.join("unthread.js").is_file() {
        tracing::warn!(
            dir = %pkg.display(),
            "the browser bundle is missing: pages render but do not hydrate; build it with scripts/build-site.sh"
        );
    }
    tokio::spawn(crate::auth::session::sweep_expired(pool.clone(), std::time::Duration::from_secs(3600)));
    if config.auth.dev_login {
        tracing::warn!("development login is ON: anyone reaching this server can sign in as anyone");
    }
    let publisher = reports_publisher(&pool, &config)?;
    let reports = app::state::ReportSettings {
        base_url: config.auth.public_url.trim_end_matches('/').to_owned(),
        timezone: config.reports.timezone,
        stale_after_days: config.reports.stale_after_days,
        publisher: publisher.clone().map(|p| p as std::sync::Arc<dyn app::report::publish::Publisher>),
    };
    let weekly_export = match config.reports.schedule {
        None => None,
        Some(schedule) => {
            let export = crate::jobs::weekly_report::ScheduledExport {
                schedule,
                // Each run replaces the week with the one due.
                options: reports.resolve(None, None).map_err(anyhow::Error::msg)?,
                directory: config.reports.directory.clone(),
                publisher,
            };
            if export.directory.is_none() && export.publisher.is_none() {
                anyhow::bail!("--report-schedule needs --report-dir or --report-issue: where should the report go?");
            }
            Some(std::sync::Arc::new(export))
        }
    };
    // Jobs: this process's workers, and what comes due with time (every process enqueues it;
    // the queue runs each period's job once).
    let shutdown = tokio_util::sync::CancellationToken::new();
    let jobs = crate::jobs::queue::Jobs::new(pool.clone());
    let workers = if config.workers > 0 {
        let jobs_config = &config.jobs;
        let mut context = crate::jobs::run::JobContext::new(
            pool.clone(),
            config.github.clone(),
            &jobs_config.index_url,
            jobs_config.cache_dir.clone(),
            jobs_config.limits,
        )?;
        context.weekly_export = weekly_export.clone();
        context.public_url = config.auth.public_url.clone();
        let (jobs, concurrency, shutdown) = (jobs.clone(), config.workers, shutdown.clone());
        Some(tokio::spawn(async move {
            if let Err(e) = jobs.work(std::sync::Arc::new(context), concurrency, shutdown).await {
                tracing::error!("the job workers stopped: {e:#}");
            }
        }))
    } else {
        None
    };
    let periodic = crate::jobs::schedule::Periodic {
        sync_interval: config.sync_interval,
        rescan_interval: config.rescan_interval,
        weekly_report: weekly_export.as_ref().map(|e| (e.schedule, e.options.timezone)),
    };
    // `--repo` repositories are tracked (a first scan queued) unless someone stopped that.
    for name in &config.github.sync.repositories {
        let new = db::models::targets::id_by_name(&pool, name).await?.is_none();
        if new {
            match crate::jobs::tracking::track(&pool, &jobs, name, "--repo").await {
                Ok(_) => tracing::info!(repository = %name, "tracking: its first scan is queued"),
                Err(e) => tracing::warn!(repository = %name, "not tracked: {e}"),
            }
        }
    }
    tokio::spawn(crate::jobs::schedule::run(pool.clone(), jobs, periodic));
    let addr = config.addr;
    let settings = router::Settings {
        webhook_secret: config.webhook_secret,
        auth: config.auth,
        github: Some(config.github),
        reports,
        rate_limit: config.rate_limit,
        notice: config.demo.then(|| crate::demo::NOTICE.to_owned()),
        demo: config.demo,
        live_streams: config.live_streams,
    };
    let app = router::build(db::connect::request_pool(&pool), options, settings);
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Descriptors beyond the connections: the pools, the job workers' downloads, the site's files.
    let limits = crate::listen::fit_file_descriptors(config.connections, 256);
    crate::listen::serve(listener, app, limits, shutdown_signal()).await?;
    tracing::info!("shutting down");
    shutdown.cancel();
    if let Some(workers) = workers {
        // Running jobs finish (or, past their timeout, are left to another worker).
        let _ = workers.await;
    }
    Ok(())
}

/// Posting reports needs an issue and a token.
fn reports_publisher(
    pool: &PgPool,
    config: &ServeConfig,
) -> anyhow::Result<Option<std::sync::Arc<crate::jobs::weekly_report::GitHubPublisher>>> {
    let Some(issue) = config.reports.issue.clone() else { return Ok(None) };
    if config.github.token.is_none() {
        anyhow::bail!("--report-issue needs a GitHub token (GITHUB_TOKEN) that may comment on {issue}");
    }
    let github = crate::github::GitHub::new(pool.clone(), &config.github.api_url, config.github.token.clone())?;
    Ok(Some(std::sync::Arc::new(crate::jobs::weekly_report::GitHubPublisher { pool: pool.clone(), github, issue })))
}

/// Resolves on Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
