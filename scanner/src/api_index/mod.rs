//! The thread-local API index behind rule UT011.
//!
//! Scanning a package records its public functions, classes and module-level instances that
//! reach a thread-bound holder (`threading.local()`, a thread-critical asgiref `Local`):
//! directly, or through anything of the package they use — functions of other modules
//! (function-local imports included), a module-level instance of a backed class, a
//! `django.dispatch.Signal` whose receivers are backed and that they `send` — and, when the
//! scan is given its dependencies' indexes, through their APIs; plus the names its packages
//! re-export them under. Each API records its chain, shortest first. Scans of other targets
//! take the merged indexes of their dependencies as input and report every use of those APIs.

pub mod bundled;
mod propagate;
mod summary;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use propagate::{package_index, BackedName, MAX_MODULE_HOPS};
pub use summary::{module_apis, Definition, ModuleApis};

/// Version 2 added each API's kind and chain; version 1 indexes are still read (their APIs'
/// chains are just the holder).
pub const FORMAT_VERSION: u32 = 2;

/// What an API is: callers of a function or class call it; callers of an instance (or of a
/// class's methods) go through its attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    #[default]
    Function,
    Class,
    Instance,
}

/// A function, class or instance whose use touches thread-local state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadLocalApi {
    /// Where callers find it, e.g. `crum.get_current_request`.
    pub qualname: String,
    /// The thread local it reaches, e.g. `crum._thread_locals`.
    pub holder: String,
    /// The package (distribution or repository) that defines it.
    pub package: String,
    /// Where it is defined, relative to that package's scan root.
    pub path: String,
    pub line: u32,
    #[serde(default)]
    pub kind: ApiKind,
    /// How it reaches the holder: itself, what it uses, …, the holder (`signal x` for a
    /// signal). Empty in version 1 indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
}

impl ThreadLocalApi {
    /// The top-level Python package the API lives in (`crum` for `crum.get_current_request`).
    pub fn package_module(&self) -> Option<&str> {
        self.qualname.split('.').next()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiIndex {
    pub version: u32,
    pub apis: BTreeMap<String, ThreadLocalApi>,
}

/// An empty index of the current format (a derived default would say format 0, and an empty
/// index from `ScanOptions::default()` would salt the cache differently from `new()`'s).
impl Default for ApiIndex {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiIndexError {
    #[error("not an Unthread API index: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("API index format {0} is not supported (expected 1 to {FORMAT_VERSION})")]
    Version(u32),
}

impl ApiIndex {
    pub fn new() -> Self {
        Self { version: FORMAT_VERSION, apis: BTreeMap::new() }
    }

    pub fn from_json(json: &str) -> Result<Self, ApiIndexError> {
        let mut index: ApiIndex = serde_json::from_str(json)?;
        if !(1..=FORMAT_VERSION).contains(&index.version) {
            return Err(ApiIndexError::Version(index.version));
        }
        index.version = FORMAT_VERSION;
        Ok(index)
    }

    /// The API a use of `qualname` reaches: the API itself, or the backed instance or class
    /// whose own attribute it is (`cache.get` of a backed module-level `cache`). An attribute
    /// of one of its attributes is not (`Model.objects.filter` of a backed model class: the
    /// manager it inherits is no backed API; a backed one is indexed as `Model.objects`).
    pub fn lookup(&self, qualname: &str) -> Option<&ThreadLocalApi> {
        if let Some(api) = self.apis.get(qualname) {
            return Some(api);
        }
        let (head, _) = qualname.rsplit_once('.')?;
        self.apis.get(head).filter(|api| api.kind != ApiKind::Function)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an index always serialises")
    }

    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
    }

    pub fn len(&self) -> usize {
        self.apis.len()
    }

    pub fn get(&self, qualname: &str) -> Option<&ThreadLocalApi> {
        self.apis.get(qualname)
    }

    pub fn insert(&mut self, api: ThreadLocalApi) {
        self.apis.entry(api.qualname.clone()).or_insert(api);
    }

    /// Adds every API of `other` (dependencies' indexes feeding a repository scan).
    pub fn merge(&mut self, other: ApiIndex) {
        for (_, api) in other.apis {
            self.insert(api);
        }
    }

    /// Follows re-exports (`from .utils import RequestCache` in `pkg/__init__.py`) until no
    /// new name appears. `exports` holds (name in the re-exporting module, what it imports).
    pub fn add_reexports(&mut self, exports: &[(&str, &str)]) {
        // Only an import of an API, or of a name exported in turn, can ever add one: most
        // imports of a package's `__init__.py` are neither, and leave the search at once.
        let exported: std::collections::HashSet<&str, rustc_hash::FxBuildHasher> =
            exports.iter().map(|(exported, _)| *exported).collect();
        let candidates: Vec<(&str, &str)> = exports
            .iter()
            .copied()
            .filter(|(_, imported)| exported.contains(imported) || self.apis.contains_key(*imported))
            .collect();
        loop {
            let mut added = false;
            for &(exported, imported) in &candidates {
                if self.apis.contains_key(exported) {
                    continue;
                }
                if let Some(api) = self.apis.get(imported).cloned() {
                    self.apis.insert(exported.to_owned(), ThreadLocalApi { qualname: exported.to_owned(), ..api });
                    added = true;
                }
            }
            if !added {
                return;
            }
        }
    }
}
