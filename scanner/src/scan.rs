//! Scanning: parse each file in parallel, run the rules, collect findings, per-file
//! outcomes and the target's thread-local API index.

use std::path::Path;

use rayon::prelude::*;

pub use crate::report::{FileOutcome, FileReport, ScanOptions, ScanReport, SCANNER_VERSION};
use crate::{
    analysis::ModuleFacts,
    api_index::{module_apis, package_index, ApiIndex},
    cache::{content_hash, CacheKey, ScanCache},
    finding::FileProblem,
    prefilter::{ParsePlan, Prefilter},
    rules::{check_module, Context},
    source::{self, ModuleNamer, SourceError, SourceFile},
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
    let context = Context::new(&options.api_index, options.all_suppressions, options.preview);
    let prefilter = (!options.no_prefilter).then(|| Prefilter::new(&options.api_index).with_preview(options.preview));

    let mut outcomes: Vec<(FileOutcome, Option<CacheKey>)> = files
        .par_iter()
        .map_init(new_parser, |parser, file| {
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
                        match prefilter.as_ref().map_or(ParsePlan::Full, |prefilter| prefilter.plan(bytes)) {
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
                        }
                    };
                    match &cache {
                        None => match file.bytes(options.sources.max_file_size) {
                            Ok(bytes) => (scan(parser, &bytes), None),
                            Err(problem) => (FileOutcome::unscanned(problem), None),
                        },
                        Some(cache) => {
                            cached_outcome(cache, file, &module, package, options, |bytes| scan(parser, bytes))
                        }
                    }
                }
            };
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            outcome
        })
        .collect();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (reparsed, api_index) =
        parse_files_reaching_apis(&files, &mut outcomes, &namer, package, &context, options.sources.max_file_size);
    if let Some(cache) = &cache {
        // A whole-file result is right whatever the other files hold: keep it in place of the
        // skipped one, so the next scan finds it without searching and parsing again.
        for (i, hash) in reparsed {
            let (module, _) = namer.module_name(&files[i].path);
            cache.put(cache.key(&files[i].path, &module, package, hash), &outcomes[i].0);
        }
    }
    let used: Vec<CacheKey> = outcomes.iter().filter_map(|(_, hit)| *hit).collect();
    let mut report = ScanReport {
        scanner_version: SCANNER_VERSION.to_owned(),
        files: Vec::with_capacity(files.len()),
        findings: Vec::new(),
        api_index,
        cache_hits: used.len(),
    };
    for (file, (outcome, _)) in files.into_iter().zip(outcomes) {
        report.files.push(FileReport {
            path: file.path,
            findings: outcome.findings.len(),
            problem: outcome.problem,
            suppression_notes: outcome.suppression_notes,
        });
        report.findings.extend(outcome.findings);
    }
    report.findings.sort_by(|a, b| (&a.path, a.start, &a.rule).cmp(&(&b.path, b.start, &b.rule)));
    if let Some(cache) = cache {
        if let Err(err) = cache.save(&used, listing, &report) {
            eprintln!("warning: could not save the scan cache: {err}");
        }
    }
    report
}

/// The package's thread-local API index from the summaries of the modules that take part
/// (`participating`; `exports_only`: re-exports of `__init__.py` files).
fn api_index_of(
    files: &[SourceFile],
    outcomes: &[(FileOutcome, Option<CacheKey>)],
    package: &str,
    input: &ApiIndex,
    participating: &dyn Fn(usize) -> Participation,
) -> ApiIndex {
    let exports_only: Vec<crate::api_index::ModuleApis> = (0..files.len())
        .filter(|&i| participating(i) == Participation::ExportsOnly)
        .map(|i| crate::api_index::ModuleApis { exports: outcomes[i].0.apis.exports.clone(), ..Default::default() })
        .collect();
    let mut modules: Vec<(&str, &crate::api_index::ModuleApis)> = (0..files.len())
        .filter(|&i| participating(i) == Participation::Whole && !outcomes[i].0.apis.is_empty())
        .map(|i| (files[i].path.as_str(), &outcomes[i].0.apis))
        .collect();
    modules.extend(exports_only.iter().map(|apis| ("", apis)));
    let (mut index, _) = package_index(&modules, package, input);
    let exports: Vec<(&str, &str)> = modules
        .iter()
        .flat_map(|(_, apis)| apis.exports.iter().map(|(name, imported)| (name.as_str(), imported.as_str())))
        .collect();
    index.add_reexports(&exports);
    index
}

/// How a module takes part in its package's API index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Participation {
    No,
    /// Its definitions, instances and receivers.
    Whole,
    /// An `__init__.py` of such a package: the names it re-exports.
    ExportsOnly,
}

/// The modules whose definitions join the package's API index, decided from their text so
/// that the prefilter changes nothing: those defining a thread-bound holder, those naming one
/// of their package's holders with its module (`from crum import _thread_locals` inside crum's
/// signal receivers; `from .store import Store` of a class holding one), and those using a
/// dependency's API (the input index: their files are parsed whole anyway); plus the
/// re-exports of those packages' `__init__.py` files. Within them, propagation runs to a
/// fixpoint; a module that only uses a backed function of another module without naming a
/// holder does not take part (following a library's core through every module that uses it
/// would mean parsing most of it: sympy's classes read a thread-local configuration).
/// Skipped or partially parsed files that take part are parsed whole. Returns the files
/// parsed, with their content hashes, and the API index.
fn parse_files_reaching_apis(
    files: &[SourceFile],
    outcomes: &mut [(FileOutcome, Option<CacheKey>)],
    namer: &ModuleNamer,
    package: &str,
    context: &Context<'_>,
    max_file_size: u64,
) -> (Vec<(usize, u128)>, ApiIndex) {
    use std::collections::HashSet;
    let top = |i: usize| namer.module_name(&files[i].path).0.split('.').next().unwrap_or("").to_owned();
    let is_init = |i: usize| files[i].path == "__init__.py" || files[i].path.ends_with("/__init__.py");
    let followed: HashSet<&str> = context.index_packages.iter().map(String::as_str).collect();
    let uses_dependency = |apis: &crate::api_index::ModuleApis| {
        apis.definitions
            .iter()
            .flat_map(|d| &d.uses)
            .chain(apis.instances.iter().map(|(_, class, _)| class))
            .any(|used| used.split('.').next().is_some_and(|top| followed.contains(top)))
    };
    let mut participation: Vec<Participation> = outcomes
        .iter()
        .map(|(outcome, _)| {
            let apis = &outcome.apis;
            if !apis.holders.is_empty() || uses_dependency(apis) {
                Participation::Whole
            } else {
                Participation::No
            }
        })
        .collect();
    let classes: HashSet<String> = outcomes
        .iter()
        .flat_map(|(outcome, _)| &outcome.apis.definitions)
        .filter(|d| d.kind == crate::api_index::ApiKind::Class)
        .map(|d| d.qualname.clone())
        .collect();
    // The search's parses summarise every definition.
    let whole = Context { all_definitions: true, ..context.clone() };
    let mut reparsed = Vec::new();
    // Whether file `i` names one of `mentions`' pairs: read, searched and dropped (holding
    // every text of the packages at once cost more, in fresh pages, than reading twice).
    let text_names =
        |i: usize, mentions: &Mentions| files[i].bytes(max_file_size).is_ok_and(|bytes| mentions.in_text(&bytes));
    // Then the modules naming a holder, then those naming a signal with a receiver among
    // the modules taking part (its senders): each named with its module.
    for round in 0..2 {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (i, (outcome, _)) in outcomes.iter().enumerate() {
            if participation[i] != Participation::Whole {
                continue;
            }
            let named: Vec<&String> = if round == 0 {
                outcome.apis.holders.iter().map(|(holder, _)| holder).collect()
            } else {
                outcome.apis.receivers.iter().map(|(signal, _)| signal).collect()
            };
            for qualname in named {
                pairs.extend(module_and_name(qualname));
                // `m.Cls.attr` is named through its class too: `from m import Cls`.
                if let Some((class, _)) = qualname.rsplit_once('.').filter(|(class, _)| classes.contains(*class)) {
                    pairs.extend(module_and_name(class));
                }
            }
        }
        pairs.sort();
        pairs.dedup();
        if pairs.is_empty() {
            continue;
        }
        let packages: HashSet<String> =
            (0..files.len()).filter(|&i| participation[i] == Participation::Whole).map(top).collect();
        let mentions = Mentions::new(&pairs);
        // A module taking part but parsed in part may have left out the definitions sending
        // a signal (the prefilter keeps, within a module, every definition reaching its
        // holder: they name it, or a definition that does).
        let naming: Vec<usize> = (0..files.len())
            .into_par_iter()
            .filter(|&i| participation[i] == Participation::No || (round == 1 && outcomes[i].0.partial))
            .filter(|&i| packages.contains(&top(i)))
            .filter(|&i| text_names(i, &mentions))
            .collect();
        for &i in &naming {
            participation[i] = Participation::Whole;
        }
        // Parsed whole where the prefilter skipped them or left definitions out.
        let todo: Vec<usize> = naming
            .into_iter()
            .filter(|&i| outcomes[i].0.prefiltered || outcomes[i].0.partial || outcomes[i].0.apis.definitions_omitted)
            .collect();
        reparsed.extend(parse_whole(files, outcomes, namer, &whole, max_file_size, &todo));
    }
    // The re-exports of the packages taking part (parsed for their imports if skipped).
    let packages: HashSet<String> =
        (0..files.len()).filter(|&i| participation[i] == Participation::Whole).map(top).collect();
    let inits: Vec<usize> = (0..files.len())
        .filter(|&i| participation[i] == Participation::No && is_init(i) && packages.contains(&top(i)))
        .collect();
    for &i in &inits {
        participation[i] = Participation::ExportsOnly;
    }
    // A skipped one matters only if it names an API (and its module) of the index so far.
    let index = api_index_of(files, outcomes, package, context.api_index, &|i| participation[i]);
    let api_pairs: Vec<(String, String)> = index
        .apis
        .values()
        .flat_map(|api| api.chain.first().into_iter().chain(std::iter::once(&api.qualname)))
        .filter_map(|qualname| module_and_name(qualname))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let api_mentions = Mentions::new(&api_pairs);
    let skipped_inits: Vec<usize> = inits
        .into_par_iter()
        .filter(|&i| outcomes[i].0.prefiltered)
        .filter(|&i| !api_pairs.is_empty() && text_names(i, &api_mentions))
        .collect();
    let parsed: Vec<(usize, u128, FileOutcome)> = skipped_inits
        .into_par_iter()
        .filter_map(|i| Some((i, files[i].bytes(max_file_size).ok()?.into_owned())))
        .map_init(new_parser, |parser, (i, bytes)| {
            let file = &files[i];
            let (module, is_init) = namer.module_name(&file.path);
            let whole =
                |parser: &mut tree_sitter::Parser| scan_file(parser, &file.path, &module, is_init, &bytes, context);
            let outcome = match Prefilter::reexport_plan(&bytes) {
                ParsePlan::Only(ranges) => {
                    scan_file_parts(parser, &file.path, &module, is_init, &bytes, &ranges, context)
                        .map(|outcome| FileOutcome { partial: true, ..outcome })
                        .unwrap_or_else(|| whole(parser))
                }
                _ => whole(parser),
            };
            (i, content_hash(&bytes), outcome)
        })
        .collect();
    for (i, hash, outcome) in parsed {
        outcomes[i].0 = outcome;
        reparsed.push((i, hash));
    }
    let index = api_index_of(files, outcomes, package, context.api_index, &|i| participation[i]);
    (reparsed, index)
}

/// `pkg.mod.name` as the words a module naming it holds: (`mod`, `name`) — `from pkg.mod
/// import name`, `mod.name`.
fn module_and_name(qualname: &str) -> Option<(String, String)> {
    let (head, name) = qualname.rsplit_once('.')?;
    Some((head.rsplit('.').next().unwrap_or(head).to_owned(), name.to_owned()))
}

/// Parses `todo` whole, in place of their outcomes; returns them with their content hashes.
fn parse_whole(
    files: &[SourceFile],
    outcomes: &mut [(FileOutcome, Option<CacheKey>)],
    namer: &ModuleNamer,
    context: &Context<'_>,
    max_file_size: u64,
    todo: &[usize],
) -> Vec<(usize, u128)> {
    let parsed: Vec<(usize, u128, FileOutcome)> = todo
        .par_iter()
        .filter_map(|&i| Some((i, files[i].bytes(max_file_size).ok()?.into_owned())))
        .map_init(new_parser, |parser, (i, bytes)| {
            let file = &files[i];
            let (module, is_init) = namer.module_name(&file.path);
            (i, content_hash(&bytes), scan_file(parser, &file.path, &module, is_init, &bytes, context))
        })
        .collect();
    parsed
        .into_iter()
        .map(|(i, hash, outcome)| {
            outcomes[i].0 = outcome;
            (i, hash)
        })
        .collect()
}

/// The (module, name) pairs of backed qualified names a file may refer to: it must hold both
/// words as whole identifiers (`Add` in `Add(x)`, not in `Address`) — the name, and the
/// module it is imported from (`from pkg.mod import name`, `mod.name`).
struct Mentions {
    words: aho_corasick::AhoCorasick,
    /// For each word that is a name, the words of its modules.
    modules_of: Vec<Vec<usize>>,
}

impl Mentions {
    fn new(pairs: &[(String, String)]) -> Self {
        let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut words: Vec<&str> = Vec::new();
        for (module, name) in pairs {
            for word in [module.as_str(), name.as_str()] {
                if !ids.contains_key(word) {
                    ids.insert(word, words.len());
                    words.push(word);
                }
            }
        }
        let mut modules_of = vec![Vec::new(); words.len()];
        for (module, name) in pairs {
            modules_of[ids[name.as_str()]].push(ids[module.as_str()]);
        }
        // Leftmost-longest, not overlapping: a whole word is never inside another match (a
        // longer pattern at its start continues past it; one starting before it touches it).
        let words = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&words)
            .expect("plain substrings always build");
        Mentions { words, modules_of }
    }

    fn in_text(&self, bytes: &[u8]) -> bool {
        use crate::prefilter::followed::is_identifier_byte as is_identifier;
        let mut present = vec![false; self.modules_of.len()];
        for found in self.words.find_iter(bytes) {
            let before = found.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(found.end()).copied();
            if !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier) {
                present[found.pattern().as_usize()] = true;
            }
        }
        present.iter().enumerate().any(|(word, &seen)| seen && self.modules_of[word].iter().any(|&m| present[m]))
    }
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
    let (findings, suppression_notes) = check_module(&facts, context);
    FileOutcome {
        findings,
        suppression_notes,
        problem: facts.has_syntax_errors.then_some(FileProblem::PartiallyParsed),
        apis: module_apis(&facts, is_package_init, &context.index_packages, context.all_definitions),
        prefiltered: false,
        partial: false,
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
    parser.set_included_ranges(&ts_ranges(bytes, ranges)).ok()?;
    let tree = parser.parse(bytes, None);
    // The parser is reused for other files: back to whole documents.
    parser.set_included_ranges(&[]).expect("the empty range list is always valid");
    let tree = tree?;
    if tree.root_node().has_error() {
        return None;
    }
    Some(outcome_of(&tree, path, module, is_package_init, bytes, context))
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

fn progress_bar(wanted: bool, len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} scanning {pos}/{len} files [{bar:30}] {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
