//! `unthread worker` (runs jobs) and `unthread rescan` (queues rescans).

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
