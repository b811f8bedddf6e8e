//! `unthread scan <path>`: scans a local checkout as a repository target and ingests the
//! findings (a finding is fixed only when a complete scan no longer sees it).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::PgPool;

use crate::ingest::scan::{dependency_api_index, ingest, ScanInput};

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// A checkout of the repository to scan.
    pub path: PathBuf,
    /// The repository, `owner/name` (default: from the checkout's `origin` remote on GitHub).
    #[arg(long)]
    pub target: Option<String>,
    /// How the target relates to the migration. A `dependency` target's name is its PyPI
    /// name; its thread-local APIs then feed the scans of repositories that pin it.
    #[arg(long, value_parser = ["platform", "library", "dependency"], default_value = "library")]
    pub kind: String,
    /// The commit scanned (default: the checkout's HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// Skip tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`).
    #[arg(long)]
    pub exclude_tests: bool,
}

pub async fn scan(pool: &PgPool, args: ScanArgs) -> anyhow::Result<()> {
    let path = args.path.canonicalize().with_context(|| format!("{} does not exist", args.path.display()))?;
    let target_name = match args.target {
        Some(name) => name,
        None => github_repository(&path).with_context(|| {
            format!("cannot tell which GitHub repository {} is: pass --target owner/name", path.display())
        })?,
    };
    let revision = args.revision.or_else(|| git(&path, &["rev-parse", "HEAD"]));
    let target_id = app::models::targets::upsert(pool, &args.kind, &target_name)
        .await
        .with_context(|| format!("registering target {target_name}"))?;
    if args.kind == "dependency" {
        link_package(pool, target_id, &target_name).await?;
    }
    let options = scanner::ScanOptions {
        sources: scanner::SourceOptions { include_tests: !args.exclude_tests, ..Default::default() },
        package: Some(target_name.clone()),
        progress: true,
        api_index: dependency_api_index(pool, target_id).await?,
        ..Default::default()
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

/// A dependency target is the PyPI package of the same (normalised) name.
async fn link_package(pool: &PgPool, target_id: i64, name: &str) -> anyhow::Result<()> {
    let package = crate::requirements::normalise(name);
    anyhow::ensure!(package == name, "a dependency target is named by its normalised PyPI name: {package}");
    sqlx::query("INSERT INTO packages (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(&package)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO target_packages (target_id, package_id) SELECT $1, id FROM packages WHERE name = $2 ON CONFLICT DO NOTHING",
    )
    .bind(target_id)
    .bind(&package)
    .execute(pool)
    .await?;
    Ok(())
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
