//! `--fix`, `--fix-only` and `--diff`: the fixes of each file with fixable findings applied in
//! verified rounds (`scanner::fix::fix_source`), then written in place atomically — or shown
//! as a unified diff and not written.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use scanner::{
    config::Settings,
    fix::{self, FixOutcome},
    fix_file::fix_in_memory,
    ScanOptions, ScanReport,
};

/// What fixing the scanned files did.
#[derive(Default)]
pub struct FixRun {
    /// Files whose text changed (written, or shown as a diff).
    pub files: usize,
    /// Fixes applied, per rule.
    pub applied: std::collections::BTreeMap<String, usize>,
    /// Rounds rolled back, with their file.
    pub rolled_back: Vec<String>,
    /// With `--diff`: the unified diff of every changed file.
    pub diff: String,
}

impl FixRun {
    pub fn total(&self) -> usize {
        self.applied.values().sum()
    }
}

/// Fixes every file of `report` with a finding whose fix `settings` applies. `disk_path` maps
/// a report path to the file on disk; `write`: write the fixed files, else only diff them.
pub fn fix_files(
    report: &ScanReport,
    disk_path: impl Fn(&str) -> PathBuf,
    package: &str,
    options: &ScanOptions,
    settings: &Settings,
    write: bool,
) -> anyhow::Result<FixRun> {
    let policy = &settings.fix_policy;
    let mut paths: Vec<&str> = report.findings.iter().filter(|f| policy.applies(f)).map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut run = FixRun::default();
    for path in paths {
        let disk = disk_path(path);
        let source = std::fs::read(&disk).with_context(|| format!("reading {}", disk.display()))?;
        let FixOutcome { fixed, applied, rolled_back } =
            fix_in_memory(path, &source, package, options, policy, |f| !settings.drops(f));
        run.rolled_back.extend(rolled_back.into_iter().map(|why| format!("{path}: {why}")));
        if fixed == source {
            continue;
        }
        run.files += 1;
        for (rule, n) in applied {
            *run.applied.entry(rule).or_default() += n;
        }
        if write {
            write_atomically(&disk, &fixed)?;
        } else {
            run.diff.push_str(&fix::unified_diff(path, &source, &fixed));
        }
    }
    Ok(run)
}

/// Replaces `path` by `bytes` through a temporary file beside it and a rename: a reader never
/// sees half a file, and a failure leaves the original. The file keeps its permissions.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.unthread-fix-{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, metadata.permissions())?;
        }
        std::fs::rename(&temporary, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
