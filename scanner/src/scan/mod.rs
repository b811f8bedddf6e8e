//! Scanning: parse each file in parallel, run the rules, collect findings, per-file
//! outcomes and the target's thread-local API index.

use std::{collections::HashMap, path::Path};

use rayon::prelude::*;

mod api_search;

use crate::import_words::ImportWords;

pub use crate::report::{FileOutcome, FileReport, ScanOptions, ScanReport, SCANNER_VERSION};
use crate::{
    analysis::ModuleFacts,
    api_index::{module_apis, ApiIndex},
    cache::{content_hash, CacheKey, ScanCache},
    finding::FileProblem,
    imports::{imports_of, ImportIndex, ModuleImports},
    prefilter::{ParsePlan, Prefilter},
    rules::{check_module, Context},
    source::{self, is_test_module, ModuleNamer, SourceError, SourceFile},
    suppression::Suppressions,
};

/// Scans a directory, a single `.py` file, or a `.whl` / `.zip` / `.tar.gz` archive.
pub fn scan_path(root: &Path, options: &ScanOptions) -> Result<ScanReport, SourceError> {
    // The cache file is read while the tree is listed.
    let (mut cache, files) = std::thread::scope(|scope| {
        let cache = scope.spawn(|| options.cache_dir.as_deref().map(|dir| ScanCache::open(dir, options)));
        let files = source::load(root, &options.sources);
        (cache.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), files)
    });
    let files = files?;
    let package = options
        .package
        .clone()
        .unwrap_or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    let listing = cache.as_ref().and_then(|cache| cache.listing(root, &files, &package, options));
    if let (Some(cache), Some(listing)) = (&mut cache, listing) {
        // The tree is as the last scan saw it: so is its report, every file's result from
        // the cache.
        if let Some(mut report) = cache.take_last_report(listing, &files) {
            report.cache_hits = files.iter().filter(|file| file.contents.is_ok()).count();
            return Ok(report);
        }
    }
    Ok(scan_loaded(files, &package, options, cache, listing))
}

/// Scans already loaded sources (paths relative to the scan root).
pub fn scan_sources(files: Vec<SourceFile>, package: &str, options: &ScanOptions) -> ScanReport {
    let cache = options.cache_dir.as_deref().map(|dir| ScanCache::open(dir, options));
    scan_loaded(files, package, options, cache, None)
}

/// Scans `files`; `listing` identifies them for the cache's report of the last scan
/// ([`ScanCache::listing`]).
fn scan_loaded(
    files: Vec<SourceFile>,
    package: &str,
    options: &ScanOptions,
    cache: Option<ScanCache>,
    listing: Option<u128>,
) -> ScanReport {
    let namer = ModuleNamer::new(files.iter().map(|f| f.path.as_str()));
    let progress = progress_bar(options.progress, files.len());
    let context = Context {
        asgiref_available: options.asgiref_available,
        ..Context::new(&options.api_index, options.all_suppressions, options.call_graph_rules)
    };
    let prefilter =
        (!options.no_prefilter).then(|| Prefilter::new(&options.api_index).with_writes(options.call_graph_rules));

    let mut outcomes: Vec<(FileOutcome, Option<CacheKey>)> = files
        .par_iter()
        .map_init(
            || (new_parser(), Vec::new()),
            |(parser, buffer), file| {
                let (module, is_init) = namer.module_name(&file.path);
                let outcome = match &file.contents {
                    Err(problem) => (FileOutcome::unscanned(problem.clone()), None),
                    Ok(_) => {
                        let scan = |parser: &mut tree_sitter::Parser, bytes: &[u8]| {
                            // Checked once here: the prefilter and the parser both need text.
                            if let Some(problem) = undecodable(bytes) {
                                return FileOutcome::unscanned(problem);
                            }
                            let whole = |parser: &mut tree_sitter::Parser| {
                                scan_text(parser, &file.path, &module, is_init, bytes, &context)
                            };
                            let mut outcome = match prefilter.as_ref().map_or(ParsePlan::Full, |prefilter| {
                                prefilter.plan_in(bytes, module.split('.').next().unwrap_or(""))
                            }) {
                                ParsePlan::Skip => FileOutcome {
                                    prefiltered: true,
                                    // Nothing to silence here: every directive is unused.
                                    suppression_notes: if options.all_suppressions {
                                        Suppressions::parse(bytes).into_notes()
                                    } else {
                                        Vec::new()
                                    },
                                    ..Default::default()
                                },
                                ParsePlan::Full => whole(parser),
                                ParsePlan::Only(ranges) => {
                                    scan_file_parts(parser, &file.path, &module, is_init, bytes, &ranges, &context)
                                        .map(|outcome| FileOutcome { partial: true, ..outcome })
                                        .unwrap_or_else(|| whole(parser))
                                }
                            };
                            if options.import_index {
                                outcome.imports = imports_of(bytes, &module, is_init);
                            }
                            outcome.computed_imports = crate::imports::computed_imports(bytes);
                            outcome.content_hash = Some(xxhash_rust::xxh3::xxh3_64(bytes));
                            outcome.import_words = Some(ImportWords::of(bytes));
                            outcome
                        };
                        match &cache {
                            None => match file.bytes_in(buffer, options.sources.max_file_size) {
                                Ok(bytes) => (scan(parser, bytes), None),
                                Err(problem) => (FileOutcome::unscanned(problem), None),
                            },
                            Some(cache) => {
                                cached_outcome(cache, file, &module, package, options, |bytes| scan(parser, bytes))
                            }
                        }
                    }
                };
                if let Some(bar) = &progress {
                    bar.inc();
                }
                outcome
            },
        )
        .collect();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (reparsed, api_index) = if options.no_api_index {
        (Vec::new(), ApiIndex::new())
    } else {
        api_search::parse_files_reaching_apis(
            &files,
            &mut outcomes,
            &namer,
            package,
            &context,
            prefilter.as_ref(),
            options.sources.max_file_size,
        )
    };
    if let Some(cache) = &cache {
        // A whole-file result is right whatever the other files hold: keep it in place of the
        // skipped one, so the next scan finds it without searching and parsing again.
        for (i, hash) in reparsed {
            let (module, _) = namer.module_name(&files[i].path);
            cache.put(cache.key(&files[i].path, &module, package, hash), &outcomes[i].0);
        }
    }
    let used: Vec<CacheKey> = outcomes.iter().filter_map(|(_, hit)| *hit).collect();
    let imports = if options.import_index { import_index(&files, &outcomes, &namer) } else { ImportIndex::default() };
    let mut report = ScanReport {
        scanner_version: SCANNER_VERSION.to_owned(),
        files: Vec::with_capacity(files.len()),
        findings: Vec::new(),
        api_index,
        imports,
        calls_out: None,
        cache_hits: used.len(),
    };
    for (file, (outcome, _)) in files.iter().zip(outcomes) {
        report.files.push(FileReport {
            path: file.path.clone(),
            findings: outcome.findings.len(),
            problem: outcome.problem,
            suppression_notes: outcome.suppression_notes,
            computed_imports: outcome.computed_imports,
            content_hash: outcome.content_hash,
        });
        report.findings.extend(outcome.findings);
    }
    if options.runs_at || options.call_graph_rules {
        let max_file_size = options.sources.max_file_size;
        report.calls_out =
            crate::runs_at::annotate_and_call_out(&files, &namer, max_file_size, &mut report.findings, options.runs_at);
        keep_request_time_writes(&mut report, options.unknown_time_writes);
    }
    report.findings.sort_by(|a, b| (&a.path, a.start, &a.rule).cmp(&(&b.path, b.start, &b.rule)));
    if let Some(cache) = cache {
        if let Err(err) = cache.save(&used, listing, &report) {
            eprintln!("warning: could not save the scan cache: {err}");
        }
    }
    report
}

/// UT013 reports writes to shared objects made while requests are served or tasks run: one
/// made only while the process starts (or a test runs) is seen by no request, and is no
/// finding. One whose time the call graph cannot tell (a library function nobody in its
/// package calls) stays only when `keep_unknown`: another package's calls may place it.
fn keep_request_time_writes(report: &mut ScanReport, keep_unknown: bool) {
    use crate::finding::RunsAt;
    let start_up = |f: &crate::finding::Finding| {
        f.rule == "UT013"
            && f.runs_at.as_ref().is_some_and(|r| match r.at {
                RunsAt::Request | RunsAt::Worker => false,
                RunsAt::Unknown => !keep_unknown,
                RunsAt::StartUp | RunsAt::Tests => true,
            })
    };
    let mut dropped: HashMap<&str, usize> = HashMap::new();
    for finding in report.findings.iter().filter(|f| start_up(f)) {
        *dropped.entry(finding.path.as_str()).or_default() += 1;
    }
    if dropped.is_empty() {
        return;
    }
    for file in &mut report.files {
        file.findings -= dropped.get(file.path.as_str()).copied().unwrap_or(0);
    }
    report.findings.retain(|f| !start_up(f));
}

/// Every read module's imports, by module name. A name in one of the target's own packages
/// is resolved here to the module holding it (`from .utils import RequestCache` →
/// `pkg.utils`): only other targets' names are left for the reader to resolve.
fn import_index(
    files: &[SourceFile],
    outcomes: &[(FileOutcome, Option<CacheKey>)],
    namer: &ModuleNamer,
) -> ImportIndex {
    let read: Vec<(String, &FileOutcome, &str)> = files
        .iter()
        .zip(outcomes)
        .filter(|(_, (outcome, _))| !outcome.problem.as_ref().is_some_and(FileProblem::is_unread))
        .map(|(file, (outcome, _))| (namer.module_name(&file.path).0, outcome, file.path.as_str()))
        .collect();
    let own: std::collections::HashSet<&str> = read.iter().map(|(module, _, _)| module.as_str()).collect();
    let tops: std::collections::HashSet<&str> = own.iter().filter_map(|m| m.split('.').next()).collect();
    let resolve = |name: &str| -> String {
        if !name.split('.').next().is_some_and(|top| tops.contains(top)) {
            return name.to_owned();
        }
        let mut module = name;
        while !own.contains(module) {
            match module.rsplit_once('.') {
                Some((head, _)) => module = head,
                None => return name.to_owned(),
            }
        }
        module.to_owned()
    };
    let mut index = ImportIndex::default();
    for (module, outcome, path) in &read {
        let mut imports: Vec<String> = outcome.imports.iter().map(|name| resolve(name)).collect();
        imports.retain(|name| name != module);
        imports.sort_unstable();
        imports.dedup();
        let entry = ModuleImports { path: (*path).to_owned(), imports, test: is_test_module(path) };
        index.modules.insert(module.clone(), entry);
    }
    index
}

/// The file's outcome from the cache, or computed by `scan` and stored there; with the key it
/// was found under when it came from the cache. Unchanged files are only read on a cache miss.
fn cached_outcome(
    cache: &ScanCache,
    file: &SourceFile,
    module: &str,
    package: &str,
    options: &ScanOptions,
    scan: impl FnOnce(&[u8]) -> FileOutcome,
) -> (FileOutcome, Option<CacheKey>) {
    if let Some(hash) = cache.unchanged_hash(file) {
        // (Its record, which vouched for the hash, needs no update.)
        let key = cache.key(&file.path, module, package, hash);
        if let Some(hit) = cache.get(key) {
            return (hit, Some(key));
        }
    }
    let bytes = match file.bytes(options.sources.max_file_size) {
        Ok(bytes) => bytes,
        Err(problem) => return (FileOutcome::unscanned(problem), None),
    };
    let hash = content_hash(&bytes);
    if let Some(disk) = &file.on_disk {
        cache.record_file(&disk.full_path, disk.stat, hash);
    }
    let key = cache.key(&file.path, module, package, hash);
    if let Some(hit) = cache.get(key) {
        return (hit, Some(key));
    }
    let outcome = scan(&bytes);
    cache.put(key, &outcome);
    (outcome, None)
}

fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches the tree-sitter version");
    parser
}

/// Scans one file's bytes. Never panics on any input: undecodable bytes and syntax errors
/// become the outcome's `problem`.
pub fn scan_file(
    parser: &mut tree_sitter::Parser,
    path: &str,
    module: &str,
    is_package_init: bool,
    bytes: &[u8],
    context: &Context<'_>,
) -> FileOutcome {
    match undecodable(bytes) {
        Some(problem) => FileOutcome::unscanned(problem),
        None => scan_text(parser, path, module, is_package_init, bytes, context),
    }
}

/// [`scan_file`] for bytes known to be text.
fn scan_text(
    parser: &mut tree_sitter::Parser,
    path: &str,
    module: &str,
    is_package_init: bool,
    bytes: &[u8],
    context: &Context<'_>,
) -> FileOutcome {
    let Some(tree) = parser.parse(bytes, None) else {
        return FileOutcome::unscanned(FileProblem::Unreadable("the parser gave up".into()));
    };
    outcome_of(&tree, path, module, is_package_init, bytes, context)
}

/// What the rules find in a parsed file.
fn outcome_of(
    tree: &tree_sitter::Tree,
    path: &str,
    module: &str,
    is_package_init: bool,
    bytes: &[u8],
    context: &Context<'_>,
) -> FileOutcome {
    let facts = ModuleFacts::collect(tree, bytes, path, module);
    let (mut findings, statements) = check_module(&facts, context);
    // Without findings, a file's comments can only be unused suppressions.
    let suppression_notes = if findings.is_empty() && !context.all_suppressions {
        Vec::new()
    } else {
        let mut suppressions = Suppressions::parse(facts.src);
        suppressions.apply(&mut findings, &statements);
        suppressions.into_notes()
    };
    FileOutcome {
        findings,
        suppression_notes,
        problem: facts.has_syntax_errors.then_some(FileProblem::PartiallyParsed),
        apis: module_apis(&facts, is_package_init, &context.index_packages, context.all_definitions),
        ..Default::default()
    }
}

/// Scans only `ranges` of a file (see [`ParsePlan::Only`]); `None` when that partial parse has
/// a syntax error, and the file must be parsed whole.
#[allow(clippy::too_many_arguments)]
fn scan_file_parts(
    parser: &mut tree_sitter::Parser,
    path: &str,
    module: &str,
    is_package_init: bool,
    bytes: &[u8],
    ranges: &[std::ops::Range<usize>],
    context: &Context<'_>,
) -> Option<FileOutcome> {
    let tree = parse_parts(parser, bytes, ranges)?;
    let outcome = outcome_of(&tree, path, module, is_package_init, bytes, context);
    // Some fixes are computed from the whole file (every use of a holder, every method of a
    // class): a file with such a finding is parsed whole, so that its fixes do not depend on
    // what the prefilter left out.
    if outcome.findings.iter().any(|f| crate::rules::FIXES_READ_THE_WHOLE_FILE.contains(&f.rule.as_str())) {
        return None;
    }
    Some(outcome)
}

/// The tree of only `ranges` of `bytes`; `None` when it has a syntax error (the parts left
/// out may hold what closes it).
fn parse_parts(
    parser: &mut tree_sitter::Parser,
    bytes: &[u8],
    ranges: &[std::ops::Range<usize>],
) -> Option<tree_sitter::Tree> {
    parser.set_included_ranges(&ts_ranges(bytes, ranges)).ok()?;
    let tree = parser.parse(bytes, None);
    // The parser is reused for other files: back to whole documents.
    parser.set_included_ranges(&[]).expect("the empty range list is always valid");
    tree.filter(|tree| !tree.root_node().has_error())
}

/// Tree-sitter ranges for `ranges` of `bytes` (sorted, each starting and ending at a line
/// start or the end of the text), with their rows counted in one pass over the text.
fn ts_ranges(bytes: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<tree_sitter::Range> {
    let mut row = 0;
    let mut counted_to = 0;
    let mut point = |offset: usize| {
        row += memchr::memchr_iter(b'\n', &bytes[counted_to..offset]).count();
        counted_to = offset;
        let column = offset - bytes[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        tree_sitter::Point { row, column }
    };
    ranges
        .iter()
        .map(|range| {
            let start_point = point(range.start);
            let end_point = point(range.end);
            tree_sitter::Range { start_byte: range.start, end_byte: range.end, start_point, end_point }
        })
        .collect()
}

/// Why `bytes` cannot be Python source text, if they cannot.
fn undecodable(bytes: &[u8]) -> Option<FileProblem> {
    if bytes.contains(&0) {
        Some(FileProblem::Binary)
    } else if std::str::from_utf8(bytes).is_err() {
        Some(FileProblem::NotUtf8)
    } else {
        None
    }
}

/// Scans one in-memory Python source (the fuzzing and unit-test entry point).
pub fn scan_source(path: &str, source: &[u8], api_index: &ApiIndex) -> FileOutcome {
    let namer = ModuleNamer::new([path]);
    let (module, is_init) = namer.module_name(path);
    let mut parser = new_parser();
    scan_file(&mut parser, path, &module, is_init, source, &Context::new(api_index, true, true))
}

/// A progress bar on a terminal, shown only once the scan has run half a second: a short
/// scan (most pre-commit runs) draws nothing.
struct Progress {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
}

impl Progress {
    fn inc(&self) {
        use std::sync::atomic::Ordering;
        self.bar.inc(1);
        if !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() > std::time::Duration::from_millis(500)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

fn progress_bar(wanted: bool, len: usize) -> Option<Progress> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} scanning {pos}/{len} files [{bar:30}] {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(Progress { bar, started: std::time::Instant::now(), shown: std::sync::atomic::AtomicBool::new(false) })
}
