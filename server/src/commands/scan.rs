//! `unthread scan [<path>] [--requirements <file>]`: scans a local checkout as a repository
//! target, and/or the pinned dependencies of one of its pip-compile files as dependency
//! targets, and ingests the findings (a finding is fixed only when a complete scan no longer
//! sees it). With both, the dependencies go first so that their thread-local APIs reach the
//! checkout's scan (rule UT011).

use std::path::Path;

use anyhow::Context;
use db::kinds::TargetKind;
use sqlx::PgPool;

use crate::{
    cli::ScanArgs,
    ingest::scan::{dependency_api_index, ingest, ScanInput},
    jobs::dependency_scan::{scan_dependencies, DependencyScanOptions, DependencyScanReport},
    pypi::{PackageIndex, Requirements},
};

/// Runs `unthread scan`; downloads are cached under `data_dir`.
pub async fn scan(pool: &PgPool, data_dir: &Path, args: ScanArgs) -> anyhow::Result<()> {
    let mut failed_dependencies = 0;
    if let Some(file) = &args.requirements {
        let report = scan_requirements(pool, data_dir, file, &args).await?;
        failed_dependencies = report.failed.len();
    }
    if let Some(path) = &args.path {
        scan_checkout(pool, path, &args).await?;
    }
    let started = std::time::Instant::now();
    let mut conn = pool.acquire().await?;
    let reach = db::models::reach::recompute(&mut conn).await?;
    db::models::runs_at_via::recompute(&mut conn).await?;
    drop(conn);
    println!(
        "reachability: {} of {} modules in {} targets reached from tracked repositories ({} ms)",
        reach.reached,
        reach.modules,
        reach.targets,
        started.elapsed().as_millis()
    );
    anyhow::ensure!(
        failed_dependencies == 0,
        "could not scan {failed_dependencies} of the pinned dependencies (listed above)"
    );
    Ok(())
}

async fn scan_requirements(
    pool: &PgPool,
    data_dir: &Path,
    file: &Path,
    args: &ScanArgs,
) -> anyhow::Result<DependencyScanReport> {
    anyhow::ensure!(
        args.kind.is_repository(),
        "--requirements belongs to a repository: use --kind platform or library"
    );
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let requirements: Requirements =
        text.parse().with_context(|| format!("{} is not pip-compile output", file.display()))?;
    let file = file.canonicalize()?;
    let directory = file.parent().unwrap_or(Path::new("/"));
    let target_name = repository_name(args.target.as_deref(), directory)?;
    args.kind.check_name(&target_name).map_err(anyhow::Error::msg)?;
    // Stored relative to the checkout, as the repository itself names it.
    let stored_path = git(directory, &["rev-parse", "--show-toplevel"])
        .and_then(|top| file.strip_prefix(top).ok().map(|p| p.to_string_lossy().into_owned()))
        .unwrap_or_else(|| file.to_string_lossy().into_owned());
    let target_id = db::models::targets::upsert(pool, args.kind, &target_name).await?;
    let imported =
        crate::ingest::requirements::import(&mut *pool.acquire().await?, target_id, &stored_path, &requirements)
            .await?;
    // Pushes to the repository re-read this file from then on (a path inside the checkout).
    if !Path::new(&stored_path).is_absolute() {
        db::models::targets::watch_requirements(pool, target_id, &stored_path).await?;
    }
    println!(
        "{target_name}: {stored_path}: {} pins, {} edges ({} added, {} removed, {} changed)",
        imported.pins,
        imported.edges,
        imported.added.len(),
        imported.removed.len(),
        imported.changed.len()
    );

    let index = PackageIndex::new(&args.index_url, &data_dir.join("cache").join("distributions"))?;
    let options = DependencyScanOptions { concurrency: args.concurrency, progress: true, ..Default::default() };
    let report = scan_dependencies(pool, &index, &requirements, &options).await?;
    let findings: usize = report.scanned.iter().map(|d| d.findings).sum();
    let new: i64 = report.scanned.iter().map(|d| d.ingest.new).sum();
    let fixed: i64 = report.scanned.iter().map(|d| d.ingest.fixed).sum();
    println!(
        "dependencies: {} scanned ({findings} findings: {new} new, {fixed} fixed), {} skipped, {} failed",
        report.scanned.len(),
        report.skipped.len(),
        report.failed.len()
    );
    for (name, why) in &report.skipped {
        println!("  skipped {name}: {why}");
    }
    for (name, version, error) in &report.failed {
        println!("  FAILED {name} {version}: {error}");
    }
    if args.check_upgrades {
        check_upgrades(pool, &index, &report, args.concurrency).await?;
    }
    Ok(report)
}

async fn scan_checkout(pool: &PgPool, path: &Path, args: &ScanArgs) -> anyhow::Result<()> {
    let path = path.canonicalize().with_context(|| format!("{} does not exist", path.display()))?;
    let target_name = repository_name(args.target.as_deref(), &path)?;
    args.kind.check_name(&target_name).map_err(anyhow::Error::msg)?;
    let revision = args.revision.clone().or_else(|| git(&path, &["rev-parse", "HEAD"]));
    let target_id = db::models::targets::upsert(pool, args.kind, &target_name)
        .await
        .with_context(|| format!("registering target {target_name}"))?;
    if args.kind == TargetKind::Dependency {
        crate::ingest::requirements::link_dependency_target(&mut *pool.acquire().await?, target_id, &target_name)
            .await?;
    }
    let options = scanner::ScanOptions {
        sources: scanner::SourceOptions { include_tests: !args.exclude_tests, ..Default::default() },
        package: Some(target_name.clone()),
        progress: true,
        api_index: dependency_api_index(pool, target_id).await?,
        ..crate::ingest::scan::recorded_scan_options()
    };
    let scan_root = path.clone();
    let report = tokio::task::spawn_blocking(move || scanner::scan_path(&scan_root, &options)).await??;
    let summary = ingest(pool, &ScanInput::from_report(target_id, revision.clone(), &report)).await?;
    if summary.already_ingested {
        println!("{target_name}: nothing changed since scan #{}", summary.scan_id);
    } else {
        println!(
            "{target_name} @ {}: scan #{}: {} files, {} findings ({} new, {} fixed, {} renamed, {} reopened), {} files not read",
            revision.as_deref().map(|r| &r[..r.len().min(12)]).unwrap_or("(no commit)"),
            summary.scan_id,
            report.files_scanned(),
            report.findings.len(),
            summary.new,
            summary.fixed,
            summary.renamed,
            summary.reopened,
            report.files_failed().count(),
        );
    }
    Ok(())
}

/// `--target`, else the GitHub repository of the checkout holding `dir`.
fn repository_name(target: Option<&str>, dir: &Path) -> anyhow::Result<String> {
    match target {
        Some(name) => Ok(name.to_owned()),
        None => github_repository(dir).with_context(|| {
            format!("cannot tell which GitHub repository {} is: pass --target owner/name", dir.display())
        }),
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

/// `owner/name` of the checkout's `origin` remote when it is on GitHub.
fn github_repository(dir: &Path) -> Option<String> {
    parse_github_remote(&git(dir, &["remote", "get-url", "origin"])?)
}

fn parse_github_remote(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("git@github.com:"))
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let (owner, name) = rest.split_once('/')?;
    (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then(|| format!("{owner}/{name}"))
}

/// Upgrade advice for every scanned dependency with open findings, `concurrency` at a time.
async fn check_upgrades(
    pool: &PgPool,
    index: &PackageIndex,
    report: &DependencyScanReport,
    concurrency: usize,
) -> anyhow::Result<()> {
    use futures::StreamExt;
    let with_findings: Vec<&str> = report.scanned.iter().filter(|d| d.findings > 0).map(|d| d.name.as_str()).collect();
    let results: Vec<(String, Result<crate::jobs::upgrades::Checked, String>)> = futures::stream::iter(with_findings)
        .map(|name| async move {
            let outcome = async {
                let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
                crate::jobs::upgrades::check(&mut conn, index, name, |_| async {}).await.map_err(|e| e.to_string())
            }
            .await;
            (name.to_owned(), outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut scanned = 0;
    for (name, outcome) in &results {
        match outcome {
            Ok(checked) => scanned += checked.scanned.len(),
            Err(e) => println!("  upgrade check of {name} failed: {e}"),
        }
    }
    println!("upgrades: {} dependencies checked, {scanned} newer releases scanned", results.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_github_remote;

    #[test]
    fn github_remotes() {
        for url in [
            "https://github.com/openedx/edx-django-utils.git",
            "https://github.com/openedx/edx-django-utils",
            "git@github.com:openedx/edx-django-utils.git",
            "ssh://git@github.com/openedx/edx-django-utils.git",
        ] {
            assert_eq!(parse_github_remote(url).as_deref(), Some("openedx/edx-django-utils"), "{url}");
        }
        assert_eq!(parse_github_remote("https://gitlab.com/a/b.git"), None);
        assert_eq!(parse_github_remote("https://github.com/a"), None);
    }
}
