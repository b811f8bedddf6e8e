//! One module per subcommand.

mod export;
mod import_sarif;
mod rescan;
mod scan;
mod serve;
mod sync;

pub use crate::demo::load_demo;
pub use export::export;
pub use import_sarif::import_sarif;
pub use rescan::{rescan, worker};
pub use scan::scan;
pub use serve::serve;
pub use sync::sync;

use db::connect::Database;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Refuse a bad or dangerous configuration before starting anything.
    let serve_config = match &cli.command {
        Command::Serve(args) => {
            crate::auth::check_dev_login_address(args.dev_login, args.addr)?;
            Some(args.config(&cli.data_dir)?)
        }
        _ => None,
    };
    let db = Database::open(cli.database_url.as_deref(), &cli.data_dir).await?;
    let result = async {
        db.migrate().await?;
        match cli.command {
            Command::Migrate => {
                tracing::info!("database schema is up to date");
                Ok(())
            }
            Command::Demo(args) => demo(&db.pool, args).await,
            Command::Scan(args) => scan(&db.pool, &cli.data_dir, args).await,
            Command::ImportSarif(args) => import_sarif(&db.pool, args).await,
            Command::Sync(args) => sync(&db.pool, &args.config()).await,
            Command::Export(args) => export(&db.pool, args).await,
            Command::Worker(args) => worker(db.pool.clone(), &cli.data_dir, args).await,
            Command::Rescan(args) => rescan(&db.pool, args).await,
            Command::Track(args) => rescan::track(&db.pool, args).await,
            Command::Untrack(args) => rescan::untrack(&db.pool, args).await,
            Command::Serve(args) => {
                let config = serve_config.expect("read above for serve");
                if config.demo {
                    load_demo(&db.pool).await?;
                }
                if let Some(date) = args.target_date {
                    db::models::campaign::set_target(&db.pool, Some(date), None, "--target-date").await?;
                }
                serve(db.pool.clone(), config).await
            }
        }
    }
    .await;
    // Stop the embedded cluster even when the command failed.
    let closed = db.close().await;
    result.and(closed)
}

/// `unthread demo`: load the bundled demo, or write a new snapshot.
async fn demo(pool: &sqlx::PgPool, args: crate::cli::DemoArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    if let (Some(path), Some(dir), Some(commit)) = (&args.update_snapshot, &args.platform_files, &args.platform_commit)
    {
        let mut snapshot = crate::demo::snapshot::read(path)?;
        let files = crate::demo::snapshot::scan_platform_files(&snapshot, dir, commit)?;
        println!(
            "{}: {} files of {} at {commit}, {} findings",
            path.display(),
            files.paths.len(),
            snapshot.platform,
            files.findings.len()
        );
        snapshot.platform_files = Some(files);
        crate::demo::snapshot::write(&snapshot, path)?;
        return Ok(());
    }
    let Some(out) = args.write_snapshot else { return load_demo(pool).await };
    let requirements_file = args.requirements.context("--requirements is required with --write-snapshot")?;
    let requirements = std::fs::read_to_string(&requirements_file)
        .with_context(|| format!("reading {}", requirements_file.display()))?;
    let libraries =
        std::fs::read_to_string(&args.libraries).with_context(|| format!("reading {}", args.libraries.display()))?;
    let histories: Vec<crate::demo::snapshot::GitHistory> = args
        .histories
        .into_iter()
        .map(|(repository, git_dir)| crate::demo::snapshot::GitHistory { repository, git_dir })
        .collect();
    let since = args.since.and_time(chrono::NaiveTime::MIN).and_utc();
    let snapshot =
        crate::demo::snapshot::capture(pool, &args.requirements_path, requirements, &libraries, &histories, since)
            .await?;
    crate::demo::snapshot::write(&snapshot, &out)?;
    println!("{}: {}", out.display(), snapshot.source);
    Ok(())
}
