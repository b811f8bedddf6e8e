//! What a scan is asked to do and what it produces: the options, each file's outcome and the
//! report of the whole scan (shared by the scan and its cache).

use serde::{Deserialize, Serialize};

use crate::{
    api_index::{ApiIndex, ModuleApis},
    finding::{FileProblem, Finding},
    imports::ImportIndex,
    source::SourceOptions,
    suppression::SuppressionNote,
};

/// Version of the scanner's output; part of every cache key.
pub const SCANNER_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    pub sources: SourceOptions,
    /// Thread-local APIs of already scanned packages (rule UT011).
    pub api_index: ApiIndex,
    /// Name recorded as the package of the APIs this scan finds.
    pub package: Option<String>,
    /// Directory for the content-hash cache of per-file results.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Parse every file, even those the text prefilter proves cannot have findings (for
    /// checking the prefilter; results are the same, only slower).
    pub no_prefilter: bool,
    /// Read the suppression comments of every file, not only of files with findings: a
    /// suppression in a file without findings silences nothing (`--report-unused-suppressions`).
    pub all_suppressions: bool,
    /// Run the rules that need the call graph (`rules::NEEDS_CALL_GRAPH`: UT013); the call
    /// graph is then computed.
    pub call_graph_rules: bool,
    /// UT013 keeps writes whose time the call graph cannot tell (a library function nobody in
    /// its package calls): calls from other packages may place them (Unthread resolves them
    /// across targets, `db::models::runs_at_via`). Otherwise only request- and worker-time
    /// writes are findings.
    pub unknown_time_writes: bool,
    /// Record what each module imports ([`crate::imports`]).
    pub import_index: bool,
    /// Find when each finding's code runs ([`crate::runs_at`]; always with
    /// `call_graph_rules`).
    pub runs_at: bool,
    /// The scanned project depends on Django or asgiref (its metadata says so: see
    /// `source::depends_on_asgiref`), so its code can import `asgiref`: fixes that bring in
    /// `asgiref.local.Local` are safe in every module, not only in those importing Django.
    pub asgiref_available: bool,
    /// Leave out the scanned package's own thread-local API index ([`ScanReport::api_index`]
    /// stays empty), for a run whose output shows none: a lint run's findings are the same
    /// either way, and the search for the modules joining the index reads files again and
    /// parses some no rule needs (about a tenth of a cold scan of openedx-platform's
    /// dependencies, mostly sympy modules reading its thread-local configuration).
    pub no_api_index: bool,
}

/// What scanning one file produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileOutcome {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<FileProblem>,
    #[serde(default, skip_serializing_if = "ModuleApis::is_empty")]
    pub apis: ModuleApis,
    /// Not parsed: the prefilter proved the file has no findings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefiltered: bool,
    /// Parsed in part (the prefilter's `ParsePlan::Only`): every finding is there, but the
    /// API summary only knows the definitions that were parsed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Unknown rule ids, malformed and unused directives in the file's suppression comments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppression_notes: Vec<SuppressionNote>,
    /// What the module imports, when asked ([`ScanOptions::import_index`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Lines importing a module by a computed name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_imports: Vec<u32>,
    /// A hash of the bytes read (xxh3): what tells a finding that went with its code from one
    /// that went with a change of the rules (the file is the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<u64>,
    /// The words of its import statements (`None`: not known, as if it held every word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_words: Option<crate::import_words::ImportWords>,
}

impl FileOutcome {
    /// Nothing found because the file could not be read or parsed, for this reason.
    pub(crate) fn unscanned(problem: FileProblem) -> Self {
        Self { problem: Some(problem), ..Default::default() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub path: String,
    pub findings: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<FileProblem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppression_notes: Vec<SuppressionNote>,
    /// Lines importing a module by a computed name, which nothing follows
    /// ([`crate::imports::computed_imports`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_imports: Vec<u32>,
    /// A hash of the bytes read ([`FileOutcome::content_hash`]); `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub scanner_version: String,
    pub files: Vec<FileReport>,
    /// Sorted by path, then position, then rule.
    pub findings: Vec<Finding>,
    /// This target's own thread-local-backed APIs, for scans of its dependents.
    pub api_index: ApiIndex,
    /// What each module imports (empty unless asked: [`ScanOptions::import_index`]).
    #[serde(default)]
    pub imports: ImportIndex,
    /// Names of other packages its request- and worker-time code calls (with
    /// [`ScanOptions::runs_at`]; [`crate::runs_at::calls_out`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_out: Option<Vec<crate::finding::CallOut>>,
    pub cache_hits: usize,
}

impl ScanReport {
    pub fn files_scanned(&self) -> usize {
        self.files.iter().filter(|f| f.problem.as_ref().is_none_or(|p| !p.is_unread())).count()
    }

    /// Files not read at all: their earlier findings must not be marked fixed.
    pub fn files_failed(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.problem.as_ref().is_some_and(FileProblem::is_unread))
    }

    pub fn partially_parsed(&self) -> impl Iterator<Item = &FileReport> {
        self.files.iter().filter(|f| f.problem == Some(FileProblem::PartiallyParsed))
    }
}
