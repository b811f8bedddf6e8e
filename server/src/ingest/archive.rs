//! Scanning a repository archive (a `.tar.gz` of one commit, as GitHub's tarball endpoint or
//! `git archive` makes it) held in memory: the one way both the rescan jobs and the demo's
//! history capture read a repository, so both find the same things.

/// What scanning an archive gave.
pub struct ScannedArchive {
    pub report: scanner::ScanReport,
    /// The commit the archive says it holds (its pax header), when it says.
    pub commit: Option<String>,
    /// When that commit was made (the archive's stamp), when it names one.
    pub committed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The asked-for non-Python members (requirements files), path → bytes.
    pub extra: std::collections::BTreeMap<String, Vec<u8>>,
}

/// Scans `archive` as the repository `name` (`owner/repo`: its last part is the package
/// name its own modules are reported under). `api_index` holds the thread-local APIs of
/// what it depends on; `extra` names members to return alongside; `sources` says whether
/// tests are scanned and bounds the archive. Blocking: call it on a
/// blocking thread, the scan uses every core.
pub fn scan(
    archive: &[u8],
    name: &str,
    api_index: scanner::ApiIndex,
    extra: &[&str],
    sources: scanner::SourceOptions,
) -> Result<ScannedArchive, String> {
    let package = name.rsplit('/').next().unwrap_or(name).to_owned();
    let contents = scanner::source::tarball(archive, &sources, extra)
        .map_err(|e| format!("{name}: the archive was not read: {e}"))?;
    // As `unthread-scan` does in a checkout: the project's metadata says whether its code can
    // import asgiref (which makes UT001's rewrite a safe fix).
    let options = scanner::ScanOptions {
        sources,
        package: Some(package.clone()),
        api_index,
        asgiref_available: contents.asgiref_available,
        ..crate::ingest::scan::recorded_scan_options()
    };
    let report = scanner::scan::scan_sources(contents.files, &package, &options);
    let committed_at =
        contents.committed_at.and_then(|seconds| chrono::DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0));
    Ok(ScannedArchive { report, commit: contents.commit, committed_at, extra: contents.extra })
}
