//! Content-hash cache of per-file scan results: rescanning an unchanged tree only reads and
//! hashes the files. Keyed by the file's bytes, its path and module name, the package, the
//! scanner version and the input API index, so any of those changing misses the cache.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Mutex,
};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::{api_index::ApiIndex, scan::FileOutcome, scan::SCANNER_VERSION};

const FILE_NAME: &str = "unthread-scan-cache.json";

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    scanner_version: String,
    entries: HashMap<String, FileOutcome>,
}

pub struct ScanCache {
    path: PathBuf,
    salt: u128,
    stored: HashMap<String, FileOutcome>,
    used: Mutex<HashSet<String>>,
    added: Mutex<HashMap<String, FileOutcome>>,
}

impl ScanCache {
    /// Opens (or starts) the cache in `dir`. A missing, unreadable or outdated cache file is
    /// treated as empty: the cache can only make a scan faster, never wrong.
    pub fn open(dir: &Path, api_index: &ApiIndex) -> Self {
        let path = dir.join(FILE_NAME);
        let stored = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|file| file.scanner_version == SCANNER_VERSION)
            .map(|file| file.entries)
            .unwrap_or_default();
        let mut hasher = Xxh3::new();
        hasher.update(SCANNER_VERSION.as_bytes());
        hasher.update(api_index.to_json().as_bytes());
        Self { path, salt: hasher.digest128(), stored, used: Mutex::default(), added: Mutex::default() }
    }

    pub fn key(&self, path: &str, module: &str, package: &str, bytes: &[u8]) -> String {
        let mut hasher = Xxh3::new();
        hasher.update(&self.salt.to_le_bytes());
        for part in [path.as_bytes(), module.as_bytes(), package.as_bytes(), bytes] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        format!("{:032x}", hasher.digest128())
    }

    pub fn get(&self, key: &str) -> Option<FileOutcome> {
        let hit = self.stored.get(key).cloned()?;
        self.used.lock().ok()?.insert(key.to_owned());
        Some(hit)
    }

    pub fn put(&self, key: String, outcome: &FileOutcome) {
        if let Ok(mut added) = self.added.lock() {
            added.insert(key, outcome.clone());
        }
    }

    /// Writes the entries this scan used or added (dropping stale ones), atomically.
    pub fn save(self) -> std::io::Result<()> {
        let used = self.used.into_inner().unwrap_or_default();
        let mut entries = self.added.into_inner().unwrap_or_default();
        let mut stored = self.stored;
        for key in used {
            if let Some(outcome) = stored.remove(&key) {
                entries.insert(key, outcome);
            }
        }
        let file = CacheFile { scanner_version: SCANNER_VERSION.to_owned(), entries };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&file).map_err(std::io::Error::other)?)?;
        std::fs::rename(tmp, &self.path)
    }
}
