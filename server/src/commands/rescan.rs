//! `unthread worker` (runs jobs), `unthread rescan` (queues rescans), and `unthread track` /
//! `untrack` (repositories followed from GitHub).

use std::{path::Path, sync::Arc};

use sqlx::PgPool;

use crate::{
    cli::{RescanArgs, WorkerArgs},
    jobs::{
        queue::{Enqueued, Jobs},
        run::JobContext,
        schedule::{rescan_now, RescanError},
    },
};

/// Runs jobs until Ctrl-C or SIGTERM; running jobs finish first.
pub async fn worker(pool: PgPool, data_dir: &Path, args: WorkerArgs) -> anyhow::Result<()> {
    let config = args.jobs.config(data_dir);
    let context =
        JobContext::new(pool.clone(), args.github.config(), &config.index_url, config.cache_dir, config.limits)?;
    let jobs = context.jobs.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        super::serve::shutdown_signal().await;
        tracing::info!("stopping: running jobs finish first");
        stop.cancel();
    });
    tracing::info!(concurrency = args.concurrency, "worker started");
    jobs.work(Arc::new(context), args.concurrency, shutdown).await
}

/// Queues a rescan of each named target (or all), ahead of the queue's other work.
pub async fn rescan(pool: &PgPool, args: RescanArgs) -> anyhow::Result<()> {
    let jobs = Jobs::new(pool.clone());
    let names = if args.all { db::models::targets::all_names(pool).await? } else { args.targets };
    let mut failed = 0;
    for name in names {
        let outcome = match db::models::targets::tracked(pool, &name).await? {
            None => Err(RescanError::Unknown(name.clone())),
            Some(target) => rescan_now(pool, &jobs, &target, "cli").await,
        };
        match outcome {
            Ok(queued) => {
                for job in queued {
                    match job {
                        Enqueued::New(id) => println!("{name}: queued job {id}"),
                        Enqueued::Folded(id) => println!("{name}: already queued as job {id}"),
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("{name}: {e}");
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} targets could not be queued (see above)");
    Ok(())
}

/// Tracks each repository and queues its first scan (run by `serve`'s or any worker).
pub async fn track(pool: &PgPool, args: crate::cli::TrackArgs) -> anyhow::Result<()> {
    use db::models::targets::Tracking;
    let jobs = Jobs::new(pool.clone());
    let mut failed = 0;
    for name in &args.repositories {
        match crate::jobs::tracking::track(pool, &jobs, name, "cli").await {
            Ok(Tracking::Started(_)) => println!("{name}: tracked; its default branch is scanned by the next worker"),
            Ok(Tracking::Resumed(_)) => {
                println!("{name}: tracked again; its default branch is scanned by the next worker")
            }
            Ok(Tracking::Already(_)) => println!("{name}: already tracked"),
            Err(e) => {
                failed += 1;
                println!("{name}: {e}");
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} repositories could not be tracked (see above)");
    Ok(())
}

/// Stops tracking each repository.
pub async fn untrack(pool: &PgPool, args: crate::cli::TrackArgs) -> anyhow::Result<()> {
    let mut failed = 0;
    for name in &args.repositories {
        if crate::jobs::tracking::untrack(pool, name, "cli").await? {
            println!("{name}: no longer tracked (its history stays)");
        } else {
            failed += 1;
            println!("{name}: not a tracked repository");
        }
    }
    anyhow::ensure!(failed == 0, "{failed} repositories were not tracked (see above)");
    Ok(())
}
