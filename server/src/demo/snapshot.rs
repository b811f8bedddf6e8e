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
    /// The platform repository's files that the epic's items point at, scanned at a recorded
    /// commit: the platform itself is too large to bring here whole, so the demo shows a scan
    /// of these files only, labelled as such (`scans.scope_paths`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_files: Option<PlatformFiles>,
}

/// A scan of some files of the platform repository (see [`Snapshot::platform_files`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct PlatformFiles {
    /// The commit the files were read at (their permalinks point there).
    pub commit: String,
    /// Why these files ("the files the epic's items point at").
    pub why: String,
    /// The files read, as the repository names them.
    pub paths: Vec<String>,
    pub tool_version: Option<String>,
    pub findings: Vec<IncomingFinding>,
}

/// Why the demo's platform scan reads only its few files.
pub const PLATFORM_FILES_WHY: &str = "the files the epic's items point at";

/// Scans `dir` — the platform's files the epic's items point at, laid out as in the
/// repository at `commit` — as the platform's own code is scanned (with the thread-local APIs
/// of every pinned dependency in `snapshot`), for [`Snapshot::platform_files`].
pub fn scan_platform_files(snapshot: &Snapshot, dir: &std::path::Path, commit: &str) -> anyhow::Result<PlatformFiles> {
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!("{commit:?} is not a full commit sha");
    }
    let mut api_index = scanner::ApiIndex::new();
    for target in &snapshot.targets {
        if let Some(index) = &target.api_index {
            api_index.merge(index.clone());
        }
    }
    let package = snapshot.platform.rsplit('/').next().unwrap_or(&snapshot.platform).to_owned();
    // No call graph: five files of a repository of thousands say nothing about who calls
    // them, so when their code runs is "not analysed" rather than "no caller".
    let options = scanner::ScanOptions { package: Some(package), api_index, runs_at: false, ..Default::default() };
    let report = scanner::scan_path(dir, &options).with_context(|| format!("scanning {}", dir.display()))?;
    if let Some(failed) = report.files_failed().next() {
        anyhow::bail!("{} was not read: {:?}", failed.path, failed.problem);
    }
    let input = crate::ingest::scan::ScanInput::from_report(0, Some(commit.to_owned()), &report);
    // An empty `__init__.py` only makes its directory a package (the script adds them so that
    // modules are named as in the repository): not one of the files read.
    let placeholder = |path: &str| {
        (path == "__init__.py" || path.ends_with("/__init__.py"))
            && std::fs::metadata(dir.join(path)).is_ok_and(|m| m.len() == 0)
    };
    let mut paths: Vec<String> =
        report.files.iter().map(|f| f.path.clone()).filter(|path| !placeholder(path)).collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no Python file under {}", dir.display());
    }
    Ok(PlatformFiles {
        commit: commit.to_owned(),
        why: PLATFORM_FILES_WHY.to_owned(),
        paths,
        tool_version: input.tool_version,
        findings: input.findings,
    })
}

/// Reads a snapshot file written by [`write`].
pub fn read(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    decode(file).with_context(|| format!("reading {}", path.display()))
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
    /// What its request- and worker-time code calls in other packages (`scans.calls_out`);
    /// absent from older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_out: Option<Vec<scanner::finding::CallOut>>,
    /// Its releases as checked when the snapshot was made: the index's newest release and
    /// the newer releases scanned (upgrade advice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<SnapshotReleases>,
    /// A repository's real history: its scans at first-parent commits since the epic's
    /// start, oldest first (the target's own fields are those of the last). Empty for
    /// packages, scanned once at their pinned version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<SnapshotScan>,
    /// Who-owns-this files of the latest commit (`catalog-info.yaml`, `CODEOWNERS`), path →
    /// text, as the archive held them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub owner_files: std::collections::BTreeMap<String, String>,
}

pub use super::git_history::SnapshotScan;

#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotReleases {
    pub newest: Option<String>,
    pub scanned: Vec<db::models::upgrades::ReleaseScan>,
}

/// The bundled snapshot, gzip-compressed JSON.
const BUNDLED: &[u8] = include_bytes!("../../demo/snapshot.json.gz");

pub fn bundled() -> anyhow::Result<Snapshot> {
    decode(BUNDLED).context("the bundled demo snapshot is unreadable")
}

/// A snapshot from its gzip-compressed JSON ([`write`]'s form).
fn decode(gz: impl std::io::Read) -> serde_json::Result<Snapshot> {
    serde_json::from_reader(flate2::read::GzDecoder::new(gz))
}

/// A repository whose history the snapshot replays, and where its git directory is.
pub struct GitHistory {
    pub repository: String,
    pub git_dir: std::path::PathBuf,
}

/// Reads what `unthread scan --requirements` stored into a snapshot. Packages listed in
/// `libraries` (`package owner/repo` per line) become library targets named after the
/// Open edX repository that publishes them; those with a git directory in `histories` are
/// scanned at their real commits since `since` instead of at the pinned version.
pub async fn capture(
    pool: &PgPool,
    requirements_path: &str,
    requirements: String,
    libraries: &str,
    histories: &[GitHistory],
    since: chrono::DateTime<chrono::Utc>,
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
    let with_history = |name: &str| histories.iter().any(|h| h.repository.eq_ignore_ascii_case(name));
    for LatestScan {
        target_id,
        package,
        scan_id,
        revision,
        tool_version,
        files_scanned,
        api_index,
        import_index,
        calls_out,
    } in scanned
    {
        let findings = db::models::scans::open_findings_seen_by(pool, target_id, scan_id).await?;
        let releases = db::models::upgrades::last_check(&mut *pool.acquire().await?, target_id)
            .await?
            .map(|(_, newest, scanned)| SnapshotReleases { newest, scanned });
        let (kind, name) = match libraries.get(package.as_str()) {
            Some(repo) => (db::kinds::TargetKind::Library, repo.to_string()),
            None => (db::kinds::TargetKind::Dependency, package.clone()),
        };
        if with_history(&name) {
            continue;
        }
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
            calls_out: calls_out.map(|j| j.0),
            releases,
            history: Vec::new(),
            owner_files: Default::default(),
        });
    }
    for history in histories {
        targets.push(repository_target(pool, history, &libraries, since).await?);
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let findings: usize = targets.iter().map(|t| t.findings.len()).sum();
    let histories: Vec<String> = targets
        .iter()
        .filter(|t| !t.history.is_empty())
        .map(|t| format!("{}@{}", t.name, t.revision.as_deref().map_or("?", |r| r.get(..12).unwrap_or(r))))
        .collect();
    Ok(Snapshot {
        source: format!(
            "unthread {} scan --requirements of {platform}'s {requirements_path} against PyPI, and git histories since {} of {}: {} targets, {findings} findings",
            env!("CARGO_PKG_VERSION"),
            since.date_naive(),
            if histories.is_empty() { "none".to_owned() } else { histories.join(", ") },
            targets.len()
        ),
        platform,
        requirements_path: requirements_path.to_owned(),
        requirements,
        targets,
        platform_files: None,
    })
}

/// A library repository scanned along its history; the thread-local APIs of its package's
/// dependencies (as scanned from the index) feed its scans, as they would a rescan job's.
async fn repository_target(
    pool: &PgPool,
    history: &GitHistory,
    libraries: &std::collections::HashMap<&str, &str>,
    since: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<SnapshotTarget> {
    let package = libraries
        .iter()
        .find(|(_, repo)| repo.eq_ignore_ascii_case(&history.repository))
        .map(|(package, _)| package.to_string())
        .with_context(|| format!("{} is not in the libraries list", history.repository))?;
    let api_index = match db::models::targets::id_by_name(&mut *pool.acquire().await?, &package).await? {
        Some(id) => crate::ingest::scan::dependency_api_index(pool, id).await?,
        None => scanner::ApiIndex::new(),
    };
    let (repository, git_dir) = (history.repository.clone(), history.git_dir.clone());
    let read = tokio::task::spawn_blocking(move || super::git_history::read(&repository, &git_dir, since, &api_index))
        .await??;
    let latest = crate::ingest::scan::ScanInput::from_report(0, None, &read.latest.report);
    let last = read.scans.last().context("a history has at least one scan")?;
    tracing::info!(repository = %history.repository, scans = read.scans.len(), findings = latest.findings.len(), "history read");
    Ok(SnapshotTarget {
        name: history.repository.clone(),
        kind: db::kinds::TargetKind::Library,
        package,
        revision: Some(last.commit.clone()),
        tool_version: latest.tool_version,
        files_scanned: latest.files_scanned,
        findings: latest.findings,
        api_index: latest.api_index,
        imports: latest.imports,
        calls_out: latest.calls_out,
        releases: None,
        history: read.scans,
        owner_files: read.owner_files,
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
