//! Cache of per-file scan results, so that rescanning an unchanged tree is nearly free.
//!
//! Results are keyed by the file's content hash, its path and module name, the package, the
//! scanner version and the input API index: any of those changing misses the cache. Files
//! of a directory tree whose size and modification time match what the previous scan saw
//! are not even read (the content hash recorded then is reused), unless that modification
//! time is within two seconds of when the cache was written: such a file could have changed
//! again within the same clock tick ("racy" entries, as git calls them), so it is re-read.
//!
//! The cache also keeps the report of the last scan of a directory tree, with a fingerprint of
//! the listing it saw (paths, sizes, modification times, options): a rescan that lists the
//! tree exactly so, every file settled, returns that report without looking up each file.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use crate::{
    report::{FileOutcome, ScanOptions, ScanReport, SCANNER_VERSION},
    source::{FileStat, SourceFile},
};

/// The cache file inside the cache directory.
pub const FILE_NAME: &str = "unthread-scan-cache.msgpack";
/// Changed whenever a file's outcome holds more than it did within one version (2: findings
/// carry their lines' context; 3: outcomes their file's content hash): an entry of another
/// format is a miss.
const OUTCOME_FORMAT: u32 = 3;
const RACY_NS: i128 = 2_000_000_000;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct FileRecord {
    stat: FileStat,
    hash: u128,
}

/// The key of a file's result: see [`ScanCache::key`].
pub type CacheKey = u128;

/// Maps keyed by hashes and paths; hashed with `rustc-hash` (the default SipHash, built to
/// resist attackers choosing keys, was a visible share of a rescan).
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    scanner_version: String,
    #[serde(default)]
    written_at_ns: i128,
    entries: FastMap<CacheKey, FileOutcome>,
    /// By absolute path (as text: hashing strings is much cheaper than hashing `Path`s).
    #[serde(default)]
    files: FastMap<String, FileRecord>,
    #[serde(default)]
    last_scan: Option<LastScan>,
}

/// A scan's report and the fingerprint of the listing it scanned ([`ScanCache::listing`]).
#[derive(Serialize, Deserialize)]
struct LastScan {
    listing: u128,
    report: ScanReport,
}

pub struct ScanCache {
    path: PathBuf,
    salt: u128,
    written_at_ns: i128,
    stored: FastMap<CacheKey, FileOutcome>,
    files: FastMap<String, FileRecord>,
    added: Mutex<Vec<(CacheKey, FileOutcome)>>,
    /// Files whose record is new or changed in this scan.
    new_records: Mutex<Vec<(String, FileRecord)>>,
    last_scan: Option<LastScan>,
    /// The last report was for this listing, but a file was too recent to trust it: writing
    /// the cache again makes it trusted next time (if nothing changes meanwhile).
    last_scan_too_recent: bool,
}

/// Feeds `parts` to `hasher`, each after its length (so that ("ab", "c") and ("a", "bc")
/// differ).
fn hash_parts(hasher: &mut Xxh3, parts: &[&[u8]]) {
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
}

/// The content hash the cache keys results by.
pub fn content_hash(bytes: &[u8]) -> u128 {
    xxh3_128(bytes)
}

impl ScanCache {
    /// Opens (or starts) the cache in `dir`. A missing, unreadable or outdated cache file is
    /// treated as empty: the cache can only make a scan faster, never wrong.
    pub fn open(dir: &Path, options: &ScanOptions) -> Self {
        let path = dir.join(FILE_NAME);
        let file = std::fs::read(&path)
            .ok()
            .and_then(|bytes| rmp_serde::from_slice::<CacheFile>(&bytes).ok())
            .filter(|file| file.scanner_version == SCANNER_VERSION)
            .unwrap_or_default();
        let mut hasher = Xxh3::new();
        hasher.update(SCANNER_VERSION.as_bytes());
        hasher.update(&OUTCOME_FORMAT.to_le_bytes());
        hasher.update(options.api_index.to_json().as_bytes());
        // Outcomes hold the suppression notes of files without findings only when asked.
        hasher.update(&[
            u8::from(options.all_suppressions),
            u8::from(options.call_graph_rules),
            u8::from(options.unknown_time_writes),
            u8::from(options.import_index),
            u8::from(options.asgiref_available),
            u8::from(options.runs_at),
        ]);
        Self {
            path,
            salt: hasher.digest128(),
            written_at_ns: file.written_at_ns,
            stored: file.entries,
            files: file.files,
            added: Mutex::default(),
            new_records: Mutex::default(),
            last_scan: file.last_scan,
            last_scan_too_recent: false,
        }
    }

    /// Identifies a file's result: its path, module, package and content, with the scanner
    /// version and the input API index.
    pub fn key(&self, path: &str, module: &str, package: &str, content_hash: u128) -> CacheKey {
        let mut hasher = Xxh3::new();
        hasher.update(&self.salt.to_le_bytes());
        hash_parts(&mut hasher, &[path.as_bytes(), module.as_bytes(), package.as_bytes(), &content_hash.to_le_bytes()]);
        hasher.digest128()
    }

    /// The content hash recorded for this exact version of the file at `full_path`, if it is
    /// safe to trust without reading the file.
    pub fn known_version(&self, full_path: &Path, stat: FileStat) -> Option<u128> {
        let record = self.files.get(full_path.to_str()?)?;
        (record.stat == stat && self.settled(stat)).then_some(record.hash)
    }

    /// Whether a file of this size and modification time is older than the cache's last write
    /// by the racy margin: then any change since would show in its modification time.
    fn settled(&self, stat: FileStat) -> bool {
        stat.mtime_ns < self.written_at_ns - RACY_NS
    }

    /// Identifies the listing of the directory tree at `root` (paths, sizes and modification
    /// times, or why a file could not be listed), with everything else a scan's report depends
    /// on: the scanner version and input API index (the salt), the package and options. `None`
    /// when a file is not on disk (an archive's).
    pub fn listing(&self, root: &Path, files: &[SourceFile], package: &str, options: &ScanOptions) -> Option<u128> {
        let mut hasher = Xxh3::new();
        hasher.update(&self.salt.to_le_bytes());
        let sources = &options.sources;
        // The last report holds the package's API index only if that scan computed it.
        let flags = [u8::from(sources.include_tests), u8::from(options.no_prefilter), u8::from(options.no_api_index)];
        let max_file_size = sources.max_file_size.to_le_bytes();
        hash_parts(&mut hasher, &[root.as_os_str().as_encoded_bytes(), package.as_bytes(), &max_file_size, &flags]);
        for file in files {
            hash_parts(&mut hasher, &[file.path.as_bytes()]);
            match (&file.on_disk, &file.contents) {
                (Some(disk), _) => {
                    hasher.update(&disk.stat.len.to_le_bytes());
                    hasher.update(&disk.stat.mtime_ns.to_le_bytes());
                }
                (None, Err(problem)) => hasher.update(format!("\0{problem:?}").as_bytes()),
                (None, Ok(_)) => return None,
            }
        }
        Some(hasher.digest128())
    }

    /// The report of the last scan, if it scanned `listing` of these `files` and none of them
    /// can have changed unseen since (see the module's doc).
    pub fn take_last_report(&mut self, listing: u128, files: &[SourceFile]) -> Option<ScanReport> {
        if self.last_scan.as_ref().is_none_or(|last| last.listing != listing) {
            return None;
        }
        let settled = files.iter().filter_map(|file| file.on_disk.as_ref()).all(|disk| self.settled(disk.stat));
        self.last_scan_too_recent = !settled;
        if settled {
            self.last_scan.take().map(|last| last.report)
        } else {
            None
        }
    }

    /// The content hash of `file` if it need not be read: recorded by an earlier scan for its
    /// exact size and modification time.
    pub fn unchanged_hash(&self, file: &SourceFile) -> Option<u128> {
        let disk = file.on_disk.as_ref()?;
        self.known_version(&disk.full_path, disk.stat)
    }

    /// Remembers which content a file on disk had, for the next scan.
    pub fn record_file(&self, full_path: &Path, stat: FileStat, hash: u128) {
        let Some(key) = full_path.to_str() else { return };
        let unchanged = self.files.get(key).is_some_and(|r| r.stat == stat && r.hash == hash);
        if !unchanged {
            if let Ok(mut records) = self.new_records.lock() {
                records.push((key.to_owned(), FileRecord { stat, hash }));
            }
        }
    }

    pub fn get(&self, key: CacheKey) -> Option<FileOutcome> {
        self.stored.get(&key).cloned()
    }

    pub fn put(&self, key: CacheKey, outcome: &FileOutcome) {
        if let Ok(mut added) = self.added.lock() {
            added.push((key, outcome.clone()));
        }
    }

    /// Writes the entries this scan `used` (found here) or added, dropping stale ones, and its
    /// report with the fingerprint of its `listing` (if it has one), atomically; does nothing
    /// when the scan found everything it needed in the cache.
    pub fn save(self, used: &[CacheKey], listing: Option<u128>, report: &ScanReport) -> std::io::Result<()> {
        let added = self.added.into_inner().unwrap_or_default();
        let new_records = self.new_records.into_inner().unwrap_or_default();
        let mut stored = self.stored;
        let used_all = used.len() == stored.len() && used.iter().all(|key| stored.contains_key(key));
        let same_report = listing.is_none()
            || (self.last_scan.as_ref().map(|last| last.listing) == listing && !self.last_scan_too_recent);
        if added.is_empty() && new_records.is_empty() && used_all && same_report {
            return Ok(());
        }
        let last_scan = match listing {
            Some(listing) => Some(LastScan { listing, report: report.clone() }),
            None => self.last_scan,
        };
        let mut entries: FastMap<CacheKey, FileOutcome> =
            used.iter().filter_map(|key| Some((*key, stored.remove(key)?))).collect();
        // What this scan put under a key it also read (a skipped file parsed after all)
        // replaces what was there.
        entries.extend(added);
        // Other trees scanned with the same cache keep their records.
        let mut files = self.files;
        files.extend(new_records);
        let written_at_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let file = CacheFile { scanner_version: SCANNER_VERSION.to_owned(), written_at_ns, entries, files, last_scan };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("msgpack.tmp");
        std::fs::write(&tmp, rmp_serde::to_vec_named(&file).map_err(std::io::Error::other)?)?;
        std::fs::rename(tmp, &self.path)
    }
}
