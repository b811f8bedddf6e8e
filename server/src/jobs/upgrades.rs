//! Upgrade advice for a pinned dependency: its releases newer than the scanned (pinned)
//! version — the newest, and the newest of the pinned major version — scanned like the pinned
//! one and recorded apart from its findings (`db::models::upgrades`). Run by the
//! `check_upgrades` job and by `unthread scan --requirements --check-upgrades`.

use std::{future::Future, str::FromStr};

use db::models::targets;
use pep508_rs::pep440_rs::Version;
use sqlx::PgConnection;

use super::queue::JobError;
use crate::{
    ingest::scan::dependency_api_index,
    pypi::{index::Release, PackageIndex},
};

/// What a check did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub pinned: Option<String>,
    pub newest: Option<String>,
    /// Releases scanned now (those scanned before are kept as they were).
    pub scanned: Vec<String>,
}

/// Checks dependency `name`'s releases on `index`; `step` says what it is doing.
pub async fn check<F, Fut>(
    conn: &mut PgConnection,
    index: &PackageIndex,
    name: &str,
    step: F,
) -> Result<Checked, JobError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let failure = |e: crate::pypi::index::IndexError| {
        if e.is_transient() {
            JobError::Retry(e.to_string())
        } else {
            JobError::Fail(e.to_string())
        }
    };
    let target = targets::tracked(&mut *conn, name)
        .await?
        .ok_or_else(|| JobError::Fail(format!("{name} is not a tracked target")))?;
    let pinned = targets::last_scanned_revision(&mut *conn, name).await?;
    step(format!("listing the releases of {name}")).await;
    let releases = index.releases(name).await.map_err(failure)?;
    let newest = releases.last().map(|r| r.version.clone());
    let candidates = pinned.as_deref().map(|p| candidates(&releases, p)).unwrap_or_default();
    let already = db::models::upgrades::scanned_versions(&mut *conn, target.id).await?;
    let (kept, candidates): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|(v, _, _)| already.contains(v));
    let mut scans = Vec::new();
    for (version, is_newest, is_newest_in_major) in candidates {
        step(format!("downloading {name} {version}")).await;
        let path = index.fetch(name, &version, &[]).await.map_err(failure)?;
        step(format!("scanning {name} {version}")).await;
        let options = scanner::ScanOptions {
            sources: scanner::SourceOptions { include_tests: false, ..Default::default() },
            package: Some(name.to_owned()),
            api_index: dependency_api_index(&mut *conn, target.id).await?,
            ..Default::default()
        };
        let (report, metadata) = tokio::task::spawn_blocking(move || {
            let metadata = crate::pypi::metadata::read(&path);
            scanner::scan_path(&path, &options).map(|report| (report, metadata))
        })
        .await
        .map_err(|e| JobError::Retry(format!("the scan stopped: {e}")))?
        .map_err(|e| JobError::Fail(e.to_string()))?;
        let metadata = metadata.unwrap_or_default();
        scans.push(db::models::upgrades::ReleaseScan {
            target_id: target.id,
            version,
            newest: is_newest,
            newest_in_major: is_newest_in_major,
            requires_python: metadata.requires_python.clone(),
            requires_dist: metadata.requires_dist.clone(),
            upstream: metadata.github_repository(),
            fingerprints: report.findings.iter().map(|f| f.fingerprint.clone()).collect(),
            content_fingerprints: report.findings.iter().map(|f| f.content_fingerprint.clone()).collect(),
            loose_keys: report
                .findings
                .iter()
                .map(|f| db::models::upgrades::loose_key(&f.rule, &f.path, &f.line_text))
                .collect(),
        });
    }
    db::models::upgrades::record_check(&mut *conn, target.id, pinned.as_deref(), newest.as_deref(), &scans, &kept)
        .await?;
    let scanned: Vec<String> = scans.into_iter().map(|s| s.version).collect();
    tracing::info!(dependency = name, pinned = ?pinned, newest = ?newest, scanned = scanned.len(), "upgrades checked");
    Ok(Checked { pinned, newest, scanned })
}

/// The releases newer than `pinned` worth scanning, each with whether it is the newest and
/// whether it is the newest of `pinned`'s major version: (version, newest, newest in major).
fn candidates(releases: &[Release], pinned: &str) -> Vec<(String, bool, bool)> {
    let parsed = |v: &str| Version::from_str(v).ok();
    let Some(pinned) = parsed(pinned) else { return Vec::new() };
    let major = |v: &Version| v.release().first().copied();
    let newer: Vec<&Release> = releases.iter().filter(|r| parsed(&r.version).is_some_and(|v| v > pinned)).collect();
    let in_major = newer.iter().rev().find(|r| parsed(&r.version).is_some_and(|v| major(&v) == major(&pinned)));
    let mut found = Vec::new();
    if let Some(newest) = newer.last() {
        found.push((newest.version.clone(), true, in_major.is_some_and(|m| m.version == newest.version)));
        if let Some(m) = in_major.filter(|m| m.version != newest.version) {
            found.push((m.version.clone(), false, true));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(versions: &[&str]) -> Vec<Release> {
        versions.iter().map(|v| Release { version: (*v).to_owned(), requires_python: None }).collect()
    }

    #[test]
    fn the_newest_and_the_newest_of_the_pinned_major() {
        let all = releases(&["0.9", "1.0", "1.1", "1.2", "2.0", "2.1"]);
        assert_eq!(candidates(&all, "1.0"), [("2.1".into(), true, false), ("1.2".into(), false, true)]);
        assert_eq!(candidates(&all, "2.0"), [("2.1".to_owned(), true, true)]);
        assert!(candidates(&all, "2.1").is_empty(), "no newer release");
        assert!(candidates(&all, "not a version").is_empty());
    }
}
