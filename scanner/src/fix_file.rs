//! Fixing one file held in memory as a scan names it: scanned, then fixed in verified rounds
//! ([`crate::fix::fix_source`]) with a rescan of the same file per round — what `--fix` does
//! to each file of a checkout, and what a fix pull request does to the files of an archive.
//! Apart from [`crate::fix`] because it scans: the rules depend on `fix`'s types, and this
//! depends on the rules.

use crate::finding::Finding;
use crate::fix::{fix_source, FixOutcome, FixPolicy, Rescan};

/// Fixes one file held in memory (`path` as the scan names it): scans it, then
/// [`fix_source`] with a rescan of the same file per round. `keep` says which findings count
/// (the configuration's selection); the rules only, no cache or indexes written.
pub fn fix_in_memory(
    path: &str,
    source: &[u8],
    package: &str,
    options: &crate::ScanOptions,
    policy: &FixPolicy,
    keep: impl Fn(&Finding) -> bool,
) -> FixOutcome {
    let options = crate::ScanOptions { cache_dir: None, progress: false, import_index: false, ..options.clone() };
    let scan = |bytes: &[u8]| {
        let file = crate::source::SourceFile::in_memory(path.to_owned(), Ok(bytes.to_vec()));
        let report = crate::scan::scan_sources(vec![file], package, &options);
        let parses = report.files.iter().all(|f| f.problem.is_none());
        Rescan { findings: report.findings.into_iter().filter(|f| keep(f)).collect(), parses }
    };
    let first = scan(source);
    fix_source(source, policy, scan, first)
}
