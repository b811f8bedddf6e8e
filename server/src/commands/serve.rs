//! `unthread serve`: the web application, until Ctrl-C or SIGTERM.

use sqlx::PgPool;

use crate::{cli::ServeArgs, router};

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
    let settings = router::Settings {
        webhook_secret: args.github.webhook_secret.clone(),
        auth: args.auth_config(),
        github: Some(args.github.clone()),
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
