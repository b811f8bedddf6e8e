//! Scanning the pinned dependencies of a requirements file: each pin is downloaded from the
//! package index (several at a time), then scanned as a `dependency` target in dependency
//! order — a package after the packages it pulls in — so that the thread-local APIs of each
//! scanned dependency reach the scans of its dependents (rule UT011). A package that cannot
//! be downloaded or scanned is reported and the others go on.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::PgPool;

use crate::{
    ingest::scan::{dependency_api_index, ingest, IngestSummary, ScanInput},
    pypi::{
        requirements::{Pin, Requirements},
        PackageIndex,
    },
};

#[derive(Clone, Debug)]
pub struct DependencyScanOptions {
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// Scan the packages' own tests too.
    pub include_tests: bool,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
}

impl Default for DependencyScanOptions {
    fn default() -> Self {
        Self { concurrency: 8, include_tests: false, progress: false }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedDependency {
    pub name: String,
    pub version: String,
    pub target_id: i64,
    pub findings: usize,
    pub ingest: IngestSummary,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DependencyScanReport {
    pub scanned: Vec<ScannedDependency>,
    /// Pins with nothing to download by version (`git+` references): `(name, why)`.
    pub skipped: Vec<(String, String)>,
    /// `(name, version, what went wrong)`.
    pub failed: Vec<(String, String, String)>,
}

/// Downloads and scans every pin of `requirements` that the index has by version.
pub async fn scan_dependencies(
    pool: &PgPool,
    index: &PackageIndex,
    requirements: &Requirements,
    options: &DependencyScanOptions,
) -> anyhow::Result<DependencyScanReport> {
    let mut report = DependencyScanReport::default();
    // One download per name and version, even when markers pin a name twice.
    let mut wanted: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for pin in &requirements.pins {
        match pin_version(pin) {
            Some(version) => {
                wanted.entry((pin.name.clone(), version.to_owned())).or_default().extend(pin.sha256.iter().cloned())
            }
            None => report.skipped.push((
                pin.name.clone(),
                format!(
                    "direct reference {}: no version on the index to scan",
                    pin.direct_url.as_deref().unwrap_or("?")
                ),
            )),
        }
    }

    let bar = progress_bar(options.progress, wanted.len() as u64 * 2);
    bar.set_message("downloading");
    let downloads: Vec<((String, String), Result<PathBuf, String>)> = futures::stream::iter(wanted)
        .map(|((name, version), hashes)| {
            let bar = bar.clone();
            async move {
                let result = index.fetch(&name, &version, &hashes).await.map_err(|e| e.to_string());
                bar.inc(1);
                ((name, version), result)
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;

    let mut archives = BTreeMap::new();
    for ((name, version), result) in downloads {
        match result {
            Ok(path) => {
                archives.insert(name, (version, path));
            }
            Err(error) => {
                bar.inc(1);
                report.failed.push((name, version, error));
            }
        }
    }

    bar.set_message("scanning");
    for name in dependency_order(archives.keys().cloned().collect(), &requirements.edges()) {
        let (version, archive) = &archives[&name];
        bar.set_message(format!("scanning {name} {version}"));
        match scan_one(pool, &name, version, archive.clone(), options).await {
            Ok(scanned) => report.scanned.push(scanned),
            Err(error) => report.failed.push((name.clone(), version.clone(), format!("{error:#}"))),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    report.failed.sort();
    Ok(report)
}

fn pin_version(pin: &Pin) -> Option<&str> {
    if pin.scannable_by_version() {
        pin.version.as_deref()
    } else {
        None
    }
}

fn progress_bar(show: bool, length: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// `names` ordered so that every package comes after the packages it pulls in (`edges` are
/// `(parent, child)`: parent depends on child). Ties, and the members of any cycle, go in
/// name order.
pub fn dependency_order(names: BTreeSet<String>, edges: &[(&str, &str)]) -> Vec<String> {
    let mut waiting_on: BTreeMap<&str, BTreeSet<&str>> = names.iter().map(|n| (n.as_str(), BTreeSet::new())).collect();
    for (parent, child) in edges {
        if parent != child && names.contains(*child) {
            if let Some(children) = waiting_on.get_mut(parent) {
                children.insert(child);
            }
        }
    }
    let mut order = Vec::with_capacity(names.len());
    while !waiting_on.is_empty() {
        let ready: Vec<&str> = waiting_on.iter().filter(|(_, deps)| deps.is_empty()).map(|(name, _)| *name).collect();
        // A cycle: break it at the first name.
        let ready = if ready.is_empty() { vec![*waiting_on.keys().next().expect("not empty")] } else { ready };
        for name in ready {
            waiting_on.remove(name);
            for deps in waiting_on.values_mut() {
                deps.remove(name);
            }
            order.push(name.to_owned());
        }
    }
    order
}

/// Scans one downloaded distribution as the `dependency` target named after the package.
async fn scan_one(
    pool: &PgPool,
    name: &str,
    version: &str,
    archive: PathBuf,
    options: &DependencyScanOptions,
) -> anyhow::Result<ScannedDependency> {
    let target_id = db::models::targets::upsert(pool, db::kinds::TargetKind::Dependency, name).await?;
    crate::ingest::requirements::link_dependency_target(&mut *pool.acquire().await?, target_id, name).await?;
    let scan_options = scanner::ScanOptions {
        sources: scanner::SourceOptions { include_tests: options.include_tests, ..Default::default() },
        package: Some(name.to_owned()),
        api_index: dependency_api_index(pool, target_id).await?,
        ..crate::ingest::scan::recorded_scan_options()
    };
    let report = tokio::task::spawn_blocking(move || scanner::scan_path(&archive, &scan_options)).await??;
    let summary = ingest(pool, &ScanInput::from_report(target_id, Some(version.to_owned()), &report)).await?;
    Ok(ScannedDependency {
        name: name.to_owned(),
        version: version.to_owned(),
        target_id,
        findings: report.findings.len(),
        ingest: summary,
    })
}

#[cfg(test)]
mod tests {
    use super::dependency_order;

    #[test]
    fn dependencies_come_first_and_cycles_do_not_hang() {
        let names = ["edx-django-utils", "django-crum", "django", "six"].map(String::from).into();
        let edges = [
            ("edx-django-utils", "django-crum"),
            ("django-crum", "django"),
            ("edx-django-utils", "django"),
            ("absent", "six"),
        ];
        assert_eq!(dependency_order(names, &edges), ["django", "six", "django-crum", "edx-django-utils"]);

        let names = ["a", "b", "c"].map(String::from).into();
        assert_eq!(dependency_order(names, &[("a", "b"), ("b", "a"), ("c", "a")]), ["a", "b", "c"]);
    }
}
