//! `unthread import-sarif <file>`: records a SARIF 2.1.0 log (from `unthread-scan`, ruff,
//! semgrep, ...) as a scan of a target.

use anyhow::Context;
use sqlx::PgPool;

use crate::{
    cli::ImportSarifArgs,
    ingest::{sarif, scan::ingest},
};

/// SARIF logs larger than this are refused before parsing.
const MAX_SARIF_BYTES: u64 = 256 * 1024 * 1024;

pub async fn import_sarif(pool: &PgPool, args: ImportSarifArgs) -> anyhow::Result<()> {
    args.kind.check_name(&args.target).map_err(anyhow::Error::msg)?;
    let size = std::fs::metadata(&args.file).with_context(|| format!("reading {}", args.file.display()))?.len();
    anyhow::ensure!(
        size <= MAX_SARIF_BYTES,
        "{} is {size} bytes, over the {MAX_SARIF_BYTES}-byte limit",
        args.file.display()
    );
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    // Parse before touching the database: a malformed log changes nothing.
    let mut input = sarif::parse(&bytes, 0, args.revision, args.root.as_deref())
        .with_context(|| format!("{} is not an importable SARIF log", args.file.display()))?;
    input.target_id = db::models::targets::upsert(pool, args.kind, &args.target)
        .await
        .with_context(|| format!("registering target {}", args.target))?;
    let summary = ingest(pool, &input).await?;
    if summary.already_ingested {
        println!("{}: nothing changed since scan #{}", args.target, summary.scan_id);
    } else {
        println!(
            "{}: scan #{} from {}: {} findings ({} new, {} fixed, {} renamed, {} reopened)",
            args.target,
            summary.scan_id,
            input.tool,
            input.findings.len(),
            summary.new,
            summary.fixed,
            summary.renamed,
            summary.reopened
        );
    }
    Ok(())
}
