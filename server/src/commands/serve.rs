//! `unthread serve`: the web application, until Ctrl-C or SIGTERM.

use sqlx::PgPool;

use crate::{cli::ServeArgs, router};

// Weekly report settings come from the same arguments as the rest of `serve`.

pub async fn serve(pool: PgPool, args: ServeArgs) -> anyhow::Result<()> {
    crate::auth::check_dev_login_address(args.dev_login, args.addr)?;
    let options = router::leptos_options(&args.site_root, &args.site_pkg_dir, args.addr);
    let pkg = std::path::Path::new(&args.site_root).join(&args.site_pkg_dir);
    if !pkg.join("unthread.js").is_file() {
        tracing::warn!(
            dir = %pkg.display(),
            "the browser bundle is missing: pages render but do not hydrate; build it with scripts/build-site.sh"
        );
    }
    tokio::spawn(crate::auth::session::sweep_expired(pool.clone(), std::time::Duration::from_secs(3600)));
    if args.sync_interval > 0 {
        let interval = std::time::Duration::from_secs(args.sync_interval);
        tokio::spawn(crate::jobs::github_sync::run_periodically(pool.clone(), args.github.clone(), interval));
    }
    if args.dev_login {
        tracing::warn!("development login is ON: anyone reaching this server can sign in as anyone");
    }
    let auth = args.auth_config();
    let publisher = reports_publisher(&pool, &args)?;
    let reports = report_settings(&args, &auth.public_url, publisher.clone())?;
    if let Some(schedule) = args.report_schedule {
        let export = crate::jobs::weekly_report::ScheduledExport {
            schedule,
            // Each run replaces the week with the one due.
            options: reports.resolve(None, None).map_err(anyhow::Error::msg)?,
            directory: args.report_dir.clone(),
            publisher,
        };
        if export.directory.is_none() && export.publisher.is_none() {
            anyhow::bail!("--report-schedule needs --report-dir or --report-issue: where should the report go?");
        }
        tokio::spawn(crate::jobs::weekly_report::run_schedule(pool.clone(), export));
    }
    let settings = router::Settings {
        webhook_secret: args.github.webhook_secret.clone(),
        auth,
        github: Some(args.github.clone()),
        reports,
    };
    let app = router::build(pool, options, settings);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("shutting down");
    Ok(())
}

fn report_settings(
    args: &ServeArgs,
    public_url: &str,
    publisher: Option<std::sync::Arc<crate::jobs::weekly_report::GitHubPublisher>>,
) -> anyhow::Result<app::state::ReportSettings> {
    Ok(app::state::ReportSettings {
        base_url: public_url.trim_end_matches('/').to_owned(),
        timezone: app::report::week::parse_timezone(&args.report_timezone).map_err(anyhow::Error::msg)?,
        stale_after_days: args.stale_after_days,
        publisher: publisher.map(|p| p as std::sync::Arc<dyn app::report::publish::Publisher>),
    })
}

/// Posting reports needs an issue and a token.
fn reports_publisher(
    pool: &PgPool,
    args: &ServeArgs,
) -> anyhow::Result<Option<std::sync::Arc<crate::jobs::weekly_report::GitHubPublisher>>> {
    let Some(issue) = args.report_issue.clone() else { return Ok(None) };
    let token = args.github.github_token.clone().filter(|t| !t.is_empty());
    if token.is_none() {
        anyhow::bail!("--report-issue needs a GitHub token (GITHUB_TOKEN) that may comment on {issue}");
    }
    let github = crate::github::GitHub::new(pool.clone(), &args.github.github_api_url, token)?;
    Ok(Some(std::sync::Arc::new(crate::jobs::weekly_report::GitHubPublisher { pool: pool.clone(), github, issue })))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
