//! The bundled demo snapshot: the scanner's real findings on openedx-platform's pinned
//! dependencies, as `unthread scan --requirements` stored them, written by
//! `unthread demo --write-snapshot` (see `scripts/demo-snapshot.sh`).

use anyhow::Context;
use db::models::scans::LatestScan;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::ingest::scan::IncomingFinding;

#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    /// How and when the data was produced.
    pub source: String,
    /// The platform repository the requirements belong to.
    pub platform: String,
    /// The requirements file, as the repository names it and with its text.
    pub requirements_path: String,
    pub requirements: String,
    pub targets: Vec<SnapshotTarget>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotTarget {
    pub name: String,
    /// `library` (an Open edX repository publishing the package) or `dependency`.
    pub kind: db::kinds::TargetKind,
    /// The PyPI package the target is.
    pub package: String,
    /// The scanned version.
    pub revision: Option<String>,
    pub tool_version: Option<String>,
    pub files_scanned: i32,
    pub findings: Vec<IncomingFinding>,
    pub api_index: Option<scanner::ApiIndex>,
    /// What each of its modules imports (reachability); absent from older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<scanner::imports::ImportIndex>,
    /// Its releases as checked when the snapshot was made: the index's newest release and
    /// the newer releases scanned (upgrade advice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<SnapshotReleases>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotReleases {
    pub newest: Option<String>,
    pub scanned: Vec<db::models::upgrades::ReleaseScan>,
}

/// The bundled snapshot, gzip-compressed JSON.
const BUNDLED: &[u8] = include_bytes!("../../demo/snapshot.json.gz");

pub fn bundled() -> anyhow::Result<Snapshot> {
    let json = flate2::read::GzDecoder::new(BUNDLED);
    serde_json::from_reader(json).context("the bundled demo snapshot is unreadable")
}

/// Reads what `unthread scan --requirements` stored into a snapshot. Packages listed in
/// `libraries` (`package owner/repo` per line) become library targets named after the
/// Open edX repository that publishes them.
pub async fn capture(
    pool: &PgPool,
    requirements_path: &str,
    requirements: String,
    libraries: &str,
) -> anyhow::Result<Snapshot> {
    let libraries: std::collections::HashMap<&str, &str> = libraries
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(package, repo)| (package.trim(), repo.trim()))
        .collect();
    let platform = db::models::targets::platform_name(pool)
        .await?
        .context("no platform target: run `unthread scan --requirements ... --kind platform` first")?;
    let scanned = db::models::scans::latest_of_dependencies(pool).await?;
    let mut targets = Vec::with_capacity(scanned.len());
    for LatestScan { target_id, package, scan_id, revision, tool_version, files_scanned, api_index, import_index } in
        scanned
    {
        let findings = db::models::scans::open_findings_seen_by(pool, target_id, scan_id).await?;
        let releases = db::models::upgrades::last_check(&mut *pool.acquire().await?, target_id)
            .await?
            .map(|(_, newest, scanned)| SnapshotReleases { newest, scanned });
        let (kind, name) = match libraries.get(package.as_str()) {
            Some(repo) => (db::kinds::TargetKind::Library, repo.to_string()),
            None => (db::kinds::TargetKind::Dependency, package.clone()),
        };
        targets.push(SnapshotTarget {
            name,
            kind,
            package,
            revision,
            tool_version,
            files_scanned,
            findings,
            api_index: api_index.map(|j| j.0),
            imports: import_index.map(|j| j.0),
            releases,
        });
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let findings: usize = targets.iter().map(|t| t.findings.len()).sum();
    Ok(Snapshot {
        source: format!(
            "unthread {} scan --requirements of {platform}'s {requirements_path} against PyPI: {} targets, {findings} findings",
            env!("CARGO_PKG_VERSION"),
            targets.len()
        ),
        platform,
        requirements_path: requirements_path.to_owned(),
        requirements,
        targets,
    })
}

/// Writes `snapshot` gzip-compressed (stable key and row order, so a regenerated snapshot
/// of the same data is the same file).
pub fn write(snapshot: &Snapshot, out: &std::path::Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut gz = flate2::GzBuilder::new().mtime(0).write(file, flate2::Compression::best());
    serde_json::to_writer(&mut gz, snapshot)?;
    gz.finish()?;
    Ok(())
}
