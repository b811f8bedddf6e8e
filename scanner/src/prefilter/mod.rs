//! A text prefilter that decides, before parsing, that a file cannot have any finding — or
//! which top-level `def`/`class` blocks, and which methods of top-level classes, the parser
//! may leave out ([`ParsePlan::Only`]; a partial parse with any syntax error is redone
//! whole): when only UT010 could report, the blocks holding no possible mutation and no
//! `global` statement, and — without `global` statements — the module-level statements that
//! name none of the module's containers and import nothing (otherwise the module-level
//! statements are always parsed); when the file imports a
//! module the rules follow, or names an API of the input index (UT011), also those that
//! mention no name such an import or API reaches ([`followed`]). Blocks are read from lines that start outside strings ([`lines`]).
//!
//! Parsing dominates scan time, and most files of a dependency set touch none of the
//! constructs the rules look for. Every finding needs something visible in the raw text:
//!
//! - UT001–UT009, UT012, UT100: an import statement naming `threading`, `_thread`,
//!   `concurrent`, `contextvars`, `asgiref`, `six` or `channels` (all resolution goes through
//!   the module's imports), or a `run_in_executor` call (UT006 needs no import);
//! - UT010: a `global` statement, or a module-level assignment of a dict/list/set/... whose
//!   name is later followed by `[` or an in-place method (`.append`, `.update`, ...);
//! - UT011: the own name of an API in the input index, as a word, and its top-level package
//!   on a line holding `import` (names resolve only through imports);
//! - UT013: an indented write of an attribute chain (`=`, augmented, `del`, `[k] =`, an
//!   in-place method) whose first name is a module-level definition, an imported name,
//!   `cls`, `self.__class__`, `type(self)`, or any name in a function holding a nested
//!   `def` ([`writes`]).
//!
//! The conditions are necessary, never sufficient, and deliberately loose (any `\w+` counts
//! as a name; any assignment in the module-level code counts, i.e. outside the top-level
//! `def`/`class` blocks, including text of strings there), so skipping a file changes no
//! result. (The theoretical miss: an f-string nesting its own quote (3.12) that the line
//! reader takes for the start of a triple-quoted string, hiding the module-level lines after
//! it.) The benchmark verifies it on the whole openedx-platform dependency set
//! (`--no-prefilter` gives byte-identical output).

pub(crate) mod followed;
mod lines;

pub(crate) use lines::code_line_starts;
mod members;
mod writes;

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

use crate::{analysis::MUTATING_METHODS, api_index::ApiIndex};

/// UT006's `loop.run_in_executor(...)` needs no import: its blocks are parsed.
const NEEDLES: &[&str] = &["run_in_executor"];

/// An import statement naming a module the rules resolve names from: `import threading`,
/// `import os, threading as t`, `from six.moves import _thread`, `from asgiref.sync import ...`
/// (any indentation, after `;`, and across backslash continuations). Every finding of rules
/// UT001–UT009, UT012 and UT100 goes through such an import.
const RELEVANT_IMPORT: &str = r"(?m-u)(?:^|;)[ \t]*(?:from[ \t]+(?:threading|_threading_local|_thread|thread|six\.moves|django\.utils\.six\.moves|concurrent|contextvars|asgiref|channels)\b|import[ \t](?:[^\n]*\\\r?\n)*[^\n]*\b(?:threading|_threading_local|_thread|thread|six|concurrent|contextvars|asgiref|channels)\b)";

// The patterns match bytes with Unicode off (`-u`): Unicode classes make the lazy DFA give up
// and fall back to a much slower engine. An identifier byte is ASCII `[0-9A-Za-z_]` or any
// byte of a non-ASCII character, so non-ASCII names still match.

/// `global x` anywhere a statement can start.
const GLOBAL_STATEMENT: &str = r"(?m-u)(?:^|[;:])[ \t]*global[ \t]+[0-9A-Za-z_\x80-\xFF]";

/// An assignment of a mutable container; group 1 is the assigned name (the last of a chain).
/// An annotation may span lines inside its brackets (`X: dict[\n  str, int\n] = {}`).
const MUTABLE_ASSIGNMENT: &str = r"(?m-u)(?:^|;)[ \t]*(?:[0-9A-Za-z_\x80-\xFF]+[ \t]*=[ \t]*)*([0-9A-Za-z_\x80-\xFF]+)[ \t]*(?::[^=\n]*(?:\[[^=]*\])?[^=\n]*)?=[ \t\\\r\n]*(?:[\[{]|(?:[0-9A-Za-z_\x80-\xFF]+\.)*(?:dict|list|set|defaultdict|OrderedDict|Counter|deque|WeakValueDictionary|WeakKeyDictionary|WeakSet|ChainMap)[ \t]*\()";

/// Text without which [`RELEVANT_IMPORT`] (the module names; `hread` covers `threading`,
/// `_thread` and `thread`) or [`GLOBAL_STATEMENT`] cannot match: one SIMD pass over a file
/// for these is much cheaper than running the two regexes over all of it, and most files
/// hold none of them. Each is a part of its word that starts with letters rarely seen
/// together in code (the search tests a match's first bytes, and `con`, `cha`, `glo`… would
/// send it to check half the file).
const GATE_WORDS: &[(&str, Gate)] = &[
    ("hread", Gate::Import),
    ("six", Gate::Import),
    ("ncurrent", Gate::Import),
    ("xtvars", Gate::Import),
    ("sgiref", Gate::Import),
    ("hannels", Gate::Import),
    ("lobal", Gate::Global),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    Import,
    Global,
}

pub struct Prefilter {
    /// UT013's writes: `None` when it does not run.
    writes: Option<writes::Writes>,
    needles: AhoCorasick,
    /// The top-level packages of the input index's APIs (`crum` of `crum.get_current_request`).
    api_tops: AhoCorasick,
    /// The text of each of `api_tops`' packages (a module's own package is skipped).
    api_top_names: Vec<String>,
    /// For each of `api_tops`, the own names of its APIs (`get_current_request`), longest
    /// first: searched only in a module that names the package.
    api_names: Vec<AhoCorasick>,
    gate: AhoCorasick,
    relevant_import: Regex,
    global_statement: Regex,
    mutable_assignment: Regex,
}

impl Prefilter {
    pub fn new(api_index: &ApiIndex) -> Self {
        // A module can call an API of the index only by naming it — `crum.get_current_request()`,
        // `from crum import get_current_request`, `class Mine(RequestCache)` — and naming its
        // package. Its package's name alone is not enough to parse it whole: `django`, `api`,
        // `views` or `rules` are in most modules of a Django project. The packages are looked
        // for first (a few dozen words, a fast search), then only their own APIs' names: one
        // search for hundreds of names over every module cost a tenth of a scan.
        let mut names_by_top: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
        for qualname in api_index.apis.keys() {
            let (Some(top), Some(name)) = (qualname.split('.').next(), qualname.rsplit('.').next()) else { continue };
            let names = names_by_top.entry(top).or_default();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let (tops, names): (Vec<&str>, Vec<AhoCorasick>) = names_by_top
            .into_iter()
            .map(|(top, mut names)| {
                // Longest first: at one place the search reports the first pattern listed, and
                // a shorter name (`Lock`) must not hide a longer one starting there (`LockProxy`).
                names.sort_by_key(|name| std::cmp::Reverse(name.len()));
                (top, leftmost(&names, aho_corasick::MatchKind::LeftmostFirst))
            })
            .unzip();
        Self {
            writes: None,
            needles: searcher(NEEDLES),
            // Leftmost-longest: a package whose name holds another's (`edx_rest_api_client`,
            // `api`) is found whole where it is written as a word.
            api_tops: leftmost(&tops, aho_corasick::MatchKind::LeftmostLongest),
            api_top_names: tops.iter().map(|top| (*top).to_owned()).collect(),
            api_names: names,
            gate: searcher(GATE_WORDS.iter().map(|(word, _)| word)),
            relevant_import: Regex::new(RELEVANT_IMPORT).expect("valid pattern"),
            global_statement: Regex::new(GLOBAL_STATEMENT).expect("valid pattern"),
            mutable_assignment: Regex::new(MUTABLE_ASSIGNMENT).expect("valid pattern"),
        }
    }

    /// Also keeps what the rules that need the call graph need (UT013's writes).
    pub fn with_writes(mut self, call_graph_rules: bool) -> Self {
        self.writes = call_graph_rules.then(writes::Writes::new);
        self
    }

    /// False only when no rule can report anything in `source`.
    pub fn may_have_findings(&self, source: &[u8]) -> bool {
        self.plan(source) != ParsePlan::Skip
    }

    /// How much of `source` must be parsed for every rule to see all it needs.
    pub fn plan(&self, source: &[u8]) -> ParsePlan {
        self.plan_in(source, "")
    }

    /// [`Prefilter::plan`] for a module of the top-level package `own_top` (whose own APIs in
    /// the input index do not count: the package's modules are not their users).
    pub fn plan_in(&self, source: &[u8], own_top: &str) -> ParsePlan {
        // UT006: `run_in_executor` calls (the context a call passes is in its own scope).
        let executor_calls: Vec<usize> = self.needles.find_iter(source).map(|found| found.start()).collect();
        let api_sites = self.api_sites(source, own_top);
        let (mut may_import, mut may_global) = (false, false);
        for found in self.gate.find_iter(source) {
            match GATE_WORDS[found.pattern().as_usize()].1 {
                Gate::Import => may_import = true,
                Gate::Global => may_global = true,
            }
            if may_import && may_global {
                break;
            }
        }
        // Most modules have none of these: then there is no need to read their lines.
        if api_sites.is_empty()
            && executor_calls.is_empty()
            && !may_import
            && !may_global
            && self.writes.is_none()
            && !self.mutable_assignment.is_match(source)
        {
            return ParsePlan::Skip;
        }
        let line_starts = lines::code_line_starts(source);
        let blocks = top_level_blocks(source, &line_starts);
        // UT010 (module-level state changed by functions) needs the module-level statements
        // and the definitions holding a mutation of a container or a `global` declaration (a
        // function rebinding a global declares it in its own body).
        let (containers, mut sites) = self.mutation_sites(source, &blocks);
        if may_global {
            sites.extend(self.global_statement.find_iter(source).map(|m| m.start()));
        }
        // UT013: attributes of shared objects written inside definitions.
        if let Some(writes) = &self.writes {
            sites.extend(writes.sites(source, &blocks));
        }
        sites.extend_from_slice(&executor_calls);
        sites.sort_unstable();
        let imports: Vec<usize> =
            if may_import { self.relevant_import.find_iter(source).map(|m| m.start()).collect() } else { Vec::new() };
        let excluded = if !imports.is_empty() || !api_sites.is_empty() {
            // UT011: the APIs' names, and what import statements naming one bind (`from crum
            // import get_current_request as current`), are followed like a relevant import's.
            let Some(mut names) = names_imported_at(source, &line_starts, &api_sites) else { return ParsePlan::Full };
            names.extend(words_at(source, &api_sites));
            let from = followed::FollowedFrom { relevant_imports: &imports, names: &names };
            sites.extend_from_slice(&api_sites);
            sites.sort_unstable();
            let Some(needed) = followed::needed_blocks(source, &line_starts, &blocks, &sites, from) else {
                return ParsePlan::Full;
            };
            unneeded_blocks(source, &line_starts, blocks, |block| needed.contains(block))
        } else if sites.is_empty() {
            return ParsePlan::Skip;
        } else {
            let mut excluded = unneeded_blocks(source, &line_starts, blocks.clone(), |block| holds_any(block, &sites));
            // Only UT010 can report, about these containers: the module-level statements that
            // do not name one (nor import anything) cannot bear on it — most of a module of
            // `register(...)` calls or long docstring tables.
            if !may_global && self.writes.is_none() && executor_calls.is_empty() {
                excluded.extend(statements_naming_none(source, &line_starts, &blocks, &containers));
                excluded.sort_unstable_by_key(|r| r.start);
            }
            excluded
        };
        ParsePlan::leaving_out(excluded, source.len())
    }

    /// Where `source` names one of the input index's APIs (as a whole word), when it also
    /// names the API's package, other than `own_top`: it may call it there (rule UT011), or
    /// join a chain through it (`scan::api_search`). Empty when it names none.
    ///
    /// A module names a package it uses in an import statement (the rules resolve names only
    /// through imports), so only the lines holding the word `import` are searched for
    /// packages: a tenth of a module's text or less.
    fn api_sites(&self, source: &[u8], own_top: &str) -> Vec<usize> {
        let whole_word = |found: &aho_corasick::Match| {
            let free = |at: usize| source.get(at).is_none_or(|&b| !followed::is_identifier_byte(b));
            (found.start() == 0 || free(found.start() - 1)) && free(found.end())
        };
        let mut searched: Vec<usize> = Vec::new();
        let mut sites: Vec<usize> = Vec::new();
        let tops = import_lines(source)
            .flat_map(|line| self.api_tops.find_iter(&source[line.clone()]).map(move |found| found.offset(line.start)));
        for top in tops.filter(whole_word) {
            let top = top.pattern().as_usize();
            if searched.contains(&top) {
                continue;
            }
            searched.push(top);
            // A package's own modules are not users of its APIs (`scan::api_search`).
            if self.api_top_names[top] == own_top {
                continue;
            }
            sites.extend(self.api_names[top].find_iter(source).filter(whole_word).map(|found| found.start()));
        }
        sites.sort_unstable();
        sites.dedup();
        sites
    }

    /// For a module that joins its package's API index because it names something backed
    /// (`scan::api_search`): what its summary needs. That is the module-level statements and
    /// the blocks mentioning, directly or through other names ([`followed`]), a backed name
    /// (`sites`, sorted: where one occurs), a name bound by an import statement holding one
    /// (`from pkg import name as alias`), or one bound by a relevant import (for the module's
    /// own holders). A definition joins a chain only through such names, so this keeps every
    /// definition that can (as for [`Prefilter::plan`], the benchmark checks the API index
    /// against a full parse; a re-export under another name, `from .m import name as alias`
    /// in `__init__.py`, is the one way around it).
    pub fn naming_plan(&self, source: &[u8], sites: &[usize]) -> ParsePlan {
        let line_starts = lines::code_line_starts(source);
        let Some(names) = names_imported_at(source, &line_starts, sites) else { return ParsePlan::Full };
        let relevant: Vec<usize> = self.relevant_import.find_iter(source).map(|m| m.start()).collect();
        let blocks = top_level_blocks(source, &line_starts);
        let from = followed::FollowedFrom { relevant_imports: &relevant, names: &names };
        let Some(needed) = followed::needed_blocks(source, &line_starts, &blocks, sites, from) else {
            return ParsePlan::Full;
        };
        let excluded = unneeded_blocks(source, &line_starts, blocks, |block| needed.contains(block));
        ParsePlan::leaving_out(excluded, source.len())
    }

    /// For an `__init__.py` no rule needs, parsed only for the names it re-exports (see
    /// `scan::parse_reexporting_files`): the module-level statements and the blocks holding
    /// an import (every import statement binds a name the package may re-export).
    pub fn reexport_plan(source: &[u8]) -> ParsePlan {
        let has_import =
            |block: &std::ops::Range<usize>| memchr::memmem::find(&source[block.clone()], b"import").is_some();
        let line_starts = lines::code_line_starts(source);
        let excluded = unneeded_blocks(source, &line_starts, top_level_blocks(source, &line_starts), has_import);
        ParsePlan::leaving_out(excluded, source.len())
    }

    /// The module-level containers (assigned in the module-level code: outside the top-level
    /// `blocks`), and the offsets of the places one may be changed in place from a function.
    fn mutation_sites<'s>(&self, source: &'s [u8], blocks: &[std::ops::Range<usize>]) -> (Vec<&'s [u8]>, Vec<usize>) {
        let mut names: Vec<&[u8]> = Vec::new();
        for module_level in complement(blocks.to_vec(), source.len()) {
            for caps in self.mutable_assignment.captures_iter(&source[module_level]) {
                if let Some(name) = caps.get(1) {
                    if !names.contains(&name.as_bytes()) {
                        names.push(name.as_bytes());
                    }
                }
            }
        }
        let mut sites: Vec<usize> = names.iter().flat_map(|name| mutations_in_functions(source, name)).collect();
        sites.sort_unstable();
        sites.dedup();
        (names, sites)
    }
}

/// The lines holding the text `import`, with the lines a trailing backslash joins to them
/// before and after (`from pkg.mod \\` / `    import name`; `import a, \\` / `    crum`),
/// as byte ranges of `source`, in order.
pub(crate) fn import_lines(source: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let finder = memchr::memmem::Finder::new(b"import");
    // `source[..end]` (a line, up to its newline) ends with a backslash.
    let continued = |end: usize| source[..end].strip_suffix(b"\r").unwrap_or(&source[..end]).ends_with(b"\\");
    let line_start = |at: usize| memchr::memrchr(b'\n', &source[..at]).map_or(0, |newline| newline + 1);
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + finder.find(&source[from..])?;
        let mut start = line_start(at);
        while start > from && continued(start - 1) {
            start = line_start(start - 1);
        }
        let mut end = at;
        loop {
            end = memchr::memchr(b'\n', &source[end..]).map_or(source.len(), |newline| end + newline);
            if !continued(end) || end == source.len() {
                break;
            }
            end += 1;
        }
        from = end;
        Some(start..end)
    })
}

/// A search reporting the leftmost match of `words`, a DFA: with hundreds of words the
/// searcher has no fast prefilter, and the default (an NFA) is several times slower.
fn leftmost(words: &[&str], kind: aho_corasick::MatchKind) -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(kind)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(words)
        .expect("plain substrings always build")
}

/// A multi-substring searcher that can use SIMD (aho-corasick only does so for leftmost
/// match semantics; these searches only ask whether and which words occur).
fn searcher<I: IntoIterator<Item = P>, P: AsRef<[u8]>>(words: I) -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(words)
        .expect("plain substrings always build")
}

/// What to hand the parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsePlan {
    /// No rule can report anything: do not parse.
    Skip,
    Full,
    /// These byte ranges (whole lines) hold everything the rules need: the module-level
    /// statements and the top-level `def`/`class` blocks (of a class, its statements and the
    /// methods) with a possible mutation, a `global` statement or a followed name (see the
    /// module's doc). The caller parses the whole file again if this partial parse has any
    /// syntax error.
    Only(Vec<std::ops::Range<usize>>),
}

impl ParsePlan {
    /// Parse all but `excluded` (sorted ranges of whole lines) of a text of `len` bytes.
    fn leaving_out(excluded: Vec<std::ops::Range<usize>>, len: usize) -> Self {
        let excluded_bytes: usize = excluded.iter().map(|r| r.end - r.start).sum();
        if excluded_bytes * 4 < len {
            return ParsePlan::Full; // not worth a second parse if the first one fails
        }
        ParsePlan::Only(complement(excluded, len))
    }
}

/// Top-level blocks that are not `needed`, and the methods not `needed` of classes that are
/// (unless that would leave a class's body empty).
pub(crate) fn unneeded_blocks(
    source: &[u8],
    line_starts: &[usize],
    blocks: Vec<std::ops::Range<usize>>,
    needed: impl Fn(&std::ops::Range<usize>) -> bool,
) -> Vec<std::ops::Range<usize>> {
    let mut unneeded = Vec::new();
    for block in blocks {
        if !needed(&block) {
            unneeded.push(block);
        } else if let Some(body) = members::class_body(source, line_starts, &block) {
            let kept_any = body.members.iter().any(&needed);
            if kept_any || body.has_other_statements {
                unneeded.extend(body.members.into_iter().filter(|m| !needed(m)));
            }
        }
    }
    unneeded
}

/// The module-level statements (outside the top-level `blocks`; a compound statement with its
/// `else`/`elif`/`except`/`finally` clauses) that name none of `names` as a word and are not
/// imports.
fn statements_naming_none(
    source: &[u8],
    line_starts: &[usize],
    blocks: &[std::ops::Range<usize>],
    names: &[&[u8]],
) -> Vec<std::ops::Range<usize>> {
    let in_block = |at: usize| {
        let i = blocks.partition_point(|b| b.start <= at);
        i > 0 && blocks[i - 1].contains(&at)
    };
    // Where each module-level statement starts, and where module-level code stops (a block).
    let mut starts: Vec<usize> = Vec::new();
    for &at in line_starts {
        let line = &source[at..];
        let starts_statement =
            !matches!(line.first(), None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'#' | b')' | b']' | b'}'));
        let clause = [&b"else"[..], b"elif ", b"except", b"finally"].iter().any(|k| line.starts_with(k));
        if starts_statement && !clause && !in_block(at) {
            starts.push(at);
        }
    }
    let mut ends: Vec<usize> = starts.iter().skip(1).copied().collect();
    ends.push(source.len());
    let names_one = |text: &[u8]| {
        names.iter().any(|name| {
            memchr::memmem::find_iter(text, name).any(|at| {
                let free = |i: Option<&u8>| i.is_none_or(|&b| !followed::is_identifier_byte(b));
                (at == 0 || free(text.get(at - 1))) && free(text.get(at + name.len()))
            })
        })
    };
    starts
        .into_iter()
        .zip(ends)
        .map(|(start, end)| {
            // A statement stops where the next block starts.
            let next_block = blocks.get(blocks.partition_point(|b| b.start < start)).map_or(end, |b| b.start);
            start..end.min(next_block)
        })
        .filter(|range| {
            let text = &source[range.clone()];
            !(text.starts_with(b"import") || text.starts_with(b"from") || names_one(text))
        })
        .collect()
}

/// Whether any of `sites` (sorted) lies in `range`.
/// The word at each of `sites` (offsets of names).
fn words_at<'s>(source: &'s [u8], sites: &[usize]) -> rustc_hash::FxHashSet<&'s [u8]> {
    sites
        .iter()
        .map(|&at| &source[at..at + source[at..].iter().take_while(|&&b| followed::is_identifier_byte(b)).count()])
        .collect()
}

/// The names import statements bind from the words at `sites` (sorted offsets of names):
/// `from m import name as alias` → `alias`; `None` when one imports `*` (it may bind any
/// name).
fn names_imported_at<'s>(source: &'s [u8], line_starts: &[usize], sites: &[usize]) -> Option<Vec<&'s [u8]>> {
    let mut names: Vec<&[u8]> = Vec::new();
    if sites.is_empty() {
        return Some(names);
    }
    let named = words_at(source, sites);
    for &at in line_starts {
        let start = at + source[at..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        let line = &source[start..];
        let Some(keyword) = [&b"import"[..], b"from"].into_iter().find(|k| line.starts_with(k)) else { continue };
        let end = followed::statement_end(source, start);
        if line.get(keyword.len()).is_some_and(|&b| followed::is_identifier_byte(b)) || !holds_any(&(start..end), sites)
        {
            continue;
        }
        let items = followed::items_bound(&source[start..end])?;
        names.extend(
            items.into_iter().filter(|item| item.words.iter().any(|w| named.contains(w))).map(|item| item.bound),
        );
    }
    Some(names)
}

fn holds_any(range: &std::ops::Range<usize>, sites: &[usize]) -> bool {
    let first = sites.partition_point(|&s| s < range.start);
    sites.get(first).is_some_and(|&s| s < range.end)
}

/// Top-level (column 0) `def`, `async def` and `class` blocks, with their decorators. A block
/// runs until the next column-0 line that is not blank, a comment or a closing bracket (black
/// puts `):` of a long signature there).
pub(crate) fn top_level_blocks(source: &[u8], line_starts: &[usize]) -> Vec<std::ops::Range<usize>> {
    let lines = line_starts.iter().map(|&at| (at, &source[at..]));
    let opens_definition =
        |line: &[u8]| line.starts_with(b"def ") || line.starts_with(b"async def ") || line.starts_with(b"class ");
    definition_blocks(lines, source.len(), opens_definition).0
}

/// Splits the statements of one indentation level into definition blocks: decorators and the
/// definition they decorate, running until the next statement. `lines` gives each line at
/// that level (its start, and its text from the indentation on); `end` is where the last
/// block ends. Also says whether any statement other than a definition was seen.
fn definition_blocks<'s>(
    lines: impl Iterator<Item = (usize, &'s [u8])>,
    end: usize,
    opens_definition: impl Fn(&[u8]) -> bool,
) -> (Vec<std::ops::Range<usize>>, bool) {
    let mut blocks: Vec<std::ops::Range<usize>> = Vec::new();
    let mut other_statements = false;
    // (start, whether the block so far is only decorators)
    let mut open: Option<(usize, bool)> = None;
    for (line_start, line) in lines {
        let starts_statement =
            !matches!(line.first(), None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'#' | b')' | b']' | b'}'));
        if !starts_statement {
            continue;
        }
        let is_decorator = line.starts_with(b"@");
        let is_definition = opens_definition(line);
        match open {
            // Decorators, then what they decorate: one block.
            Some((start, true)) if is_decorator || is_definition => open = Some((start, is_decorator)),
            _ => {
                if let Some((start, _)) = open.take() {
                    blocks.push(start..line_start);
                }
                if is_decorator || is_definition {
                    open = Some((line_start, is_decorator));
                } else {
                    other_statements = true;
                }
            }
        }
    }
    if let Some((start, _)) = open {
        blocks.push(start..end);
    }
    (blocks, other_statements)
}

fn complement(excluded: Vec<std::ops::Range<usize>>, len: usize) -> Vec<std::ops::Range<usize>> {
    let mut included = Vec::with_capacity(excluded.len() + 1);
    let mut at = 0;
    for range in excluded {
        if range.start > at {
            included.push(at..range.start);
        }
        at = range.end;
    }
    if at < len {
        included.push(at..len);
    }
    included
}

/// Offsets where `name` is followed by a subscript that may be assigned to or deleted, or by
/// `.<in-place method>`, on an indented line (function bodies are indented) or on a line
/// defining a one-line function.
fn mutations_in_functions<'s>(source: &'s [u8], name: &'s [u8]) -> impl Iterator<Item = usize> + 's {
    memchr::memmem::find_iter(source, name).filter(move |&start| {
        let rest = trim_blank(&source[start + name.len()..]);
        let mutates = match rest.first() {
            Some(b'[') => {
                let open = source.len() - rest.len();
                statement_starts_with_del(source, start) || subscript_may_be_assigned(source, open)
            }
            Some(b'.') => {
                let method = trim_blank(&rest[1..]);
                MUTATING_METHODS.iter().any(|m| method.starts_with(m.as_bytes()))
            }
            _ => false,
        };
        if !mutates {
            return false;
        }
        let line_start = source[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = &source[line_start..];
        matches!(line.first(), Some(b' ' | b'\t')) || line.starts_with(b"def ") || line.starts_with(b"async def ")
    })
}

/// After `NAME[` at `open`: true when the closing bracket is followed by `=` (not `==`), an
/// augmented assignment operator, or `:` (an annotated assignment) — the forms in which the
/// rule sees a subscript change its container. Strings and comments inside the brackets are
/// skipped; an unclosed bracket counts as "maybe".
fn subscript_may_be_assigned(source: &[u8], open: usize) -> bool {
    let mut depth = 0usize;
    let mut i = open;
    while i < source.len() {
        match source[i] {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            quote @ (b'\'' | b'"') => {
                // Skip to the closing quote (a triple-quoted string reads as three strings).
                i += 1;
                while i < source.len() && source[i] != quote && source[i] != b'\n' {
                    i += if source[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                while i < source.len() && source[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let Some(after) = source.get(i + 1..) else { return true };
    let mut after = trim_blank(after);
    while let Some(rest) = after.strip_prefix(b"\\\n").or_else(|| after.strip_prefix(b"\\\r\n")) {
        after = trim_blank(rest);
    }
    match after {
        [b'=', b'=', ..] => false,
        [b'=' | b':', ..] => true,
        [b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'@', b'=', ..] => true,
        [b'/', b'/', b'=', ..] | [b'*', b'*', b'=', ..] | [b'>', b'>', b'=', ..] | [b'<', b'<', b'=', ..] => true,
        _ => false,
    }
}

/// True when the statement holding `offset` (from its line start or last `;`) begins with
/// `del`.
fn statement_starts_with_del(source: &[u8], offset: usize) -> bool {
    let start = source[..offset].iter().rposition(|&b| b == b'\n' || b == b';').map_or(0, |i| i + 1);
    let statement = trim_blank(&source[start..offset]);
    statement.starts_with(b"del") && statement.get(3).is_some_and(|b| matches!(b, b' ' | b'\t' | b'('))
}

fn trim_blank(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &bytes[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_files_any_rule_could_report() {
        let filter = Prefilter::new(&ApiIndex::new());
        for src in [
            "import threading\n",
            "try:\n    import os; import threading as t\nexcept ImportError:\n    pass\n",
            "import os, \\\n    threading\n",
            "from six.moves import (\n    _thread,\n)\n",
            "from asgiref.sync import sync_to_async\n",
            "import concurrent.futures\n",
            "from six.moves import _thread\n",
            "async def f(loop):\n    await loop.run_in_executor(None, g)\n",
            "def f():\n    global X\n",
            "def f(): global X; X = 1\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[k] = 1\n",
            "_CACHE = {}\ndef f(k):\n    del _CACHE [k]\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[k[0]] += 1\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE['a]'] = 1\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[\n        k  # key ]\n    ] = 1\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[k] \\\n        = 1\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[k] //= 2\n",
            "_CACHE = {}\ndef f(k):\n    x = _CACHE[k] = 2\n",
            "_CACHE = {}\ndef f(k):\n    _CACHE[k\n",
            "try:\n    _CACHE: dict = collections.defaultdict(list)\nexcept ImportError:\n    pass\ndef f():\n    _CACHE.update(a=1)\n",
            "A = B = []\ndef f():\n    B.append(1)\n",
            "import os; REG = set()\ndef f():\n    REG.add(1)\n",
            "X = \\\n    {}\ndef f():\n    X.clear()\n",
            "_callbacks: dict[\n    tuple[int, int], int\n] = {}\ndef f():\n    _callbacks[1] = 2\n",
            "if True:\n    CACHE = {}\ndef f():\n    CACHE['a'] = 1\n",
            "HELP = \"\"\"\ndef x():\n    \"\"\"; CACHE = {}\ndef f():\n    CACHE[1] = 2\n",
        ] {
            assert!(filter.may_have_findings(src.as_bytes()), "{src:?}");
        }
    }

    #[test]
    fn skips_files_no_rule_could_report() {
        let filter = Prefilter::new(&ApiIndex::new());
        for src in [
            "import os\n\ndef f(x):\n    return x + 1\n",
            "X = (1, 2)\nNAME = 'a'\n",
            "__all__ = ['f', 'g']\n",
            "def f():\n    d = {}\n    d['a'] = 1\n",
            "_CACHE = {}\ndef f(k):\n    return _CACHE[k] == 1 or _CACHE['=']\n",
            "_CACHE = {}\ndef f(k):\n    print(_CACHE[k], _CACHE[k][0])\n",
            "class A(\n    Base,\n):\n    registry = {}\n    def f(self):\n        registry['a'] = 1\n",
            "def f(\n    a,\n):\n    d = {}\n    def g():\n        d['a'] = 1\n",
            "# global settings are read once\nimport asyncio\n",
            "\"\"\"Thread-safe helpers.\"\"\"\nimport os\n",
        ] {
            assert!(!filter.may_have_findings(src.as_bytes()), "{src:?}");
        }
    }

    #[test]
    fn parses_only_the_blocks_that_can_matter_for_a_module_global() {
        let filter = Prefilter::new(&ApiIndex::new());
        let src = "\
\"\"\"Module.\"\"\"
_CACHE = {}


@decorator
@other(1)
def unrelated(
    a,
):
    return a


class Store:
    def put(self, k, v):
        _CACHE[k] = v


def helper():
    \"\"\"Docs.\"\"\"
    return 1

if __name__ == '__main__':
    helper()
";
        let plan = filter.plan(src.as_bytes());
        let ParsePlan::Only(ranges) = plan else { panic!("{plan:?}") };
        let kept: String = ranges.iter().map(|r| &src[r.clone()]).collect();
        assert!(
            kept.contains("_CACHE = {}") && kept.contains("class Store:") && kept.contains("_CACHE[k] = v"),
            "{kept}"
        );
        // Module-level statements naming no container are left out too (only UT010 could
        // report here); a compound one naming it is kept whole, with its other clauses.
        assert!(!kept.contains("if __name__ == '__main__':") && !kept.contains("Module."), "{kept}");
        assert!(!kept.contains("unrelated") && !kept.contains("@decorator") && !kept.contains("def helper"), "{kept}");
        let compound = format!("{src}try:\n    _CACHE.update(load())\nexcept OSError:\n    pass\nregister(1)\n");
        let ParsePlan::Only(ranges) = filter.plan(compound.as_bytes()) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &compound[r.clone()]).collect();
        assert!(kept.contains("try:\n    _CACHE.update(load())\nexcept OSError:\n    pass\n"), "{kept}");
        assert!(!kept.contains("register(1)"), "{kept}");
        for range in &ranges {
            assert!(range.start == 0 || src.as_bytes()[range.start - 1] == b'\n', "ranges are whole lines");
        }
        // A function rebinding a module global through `global` is kept, whatever it rebinds.
        let with_global = format!("{src}\ndef reset():\n    global _CACHE, _COUNT\n    _COUNT = 0\n");
        let ParsePlan::Only(ranges) = filter.plan(with_global.as_bytes()) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &with_global[r.clone()]).collect();
        assert!(kept.contains("def reset():\n    global _CACHE, _COUNT\n    _COUNT = 0"), "{kept}");
        // A `global` statement may rebind any module-level name: every statement is kept.
        assert!(kept.contains("if __name__ == '__main__':"), "{kept}");
        assert!(!kept.contains("unrelated") && !kept.contains("def helper"), "{kept}");
        // A relevant import keeps the blocks that reach what it binds (see `followed`).
        let with_lock = format!("import threading\n{src}\n\ndef locked():\n    with threading.Lock():\n        pass\n");
        let ParsePlan::Only(ranges) = filter.plan(with_lock.as_bytes()) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &with_lock[r.clone()]).collect();
        assert!(kept.contains("import threading") && kept.contains("def locked():") && kept.contains("class Store:"));
        assert!(!kept.contains("unrelated") && !kept.contains("def helper"), "{kept}");
        // A call UT006 reports without any import keeps its block, and every module-level
        // statement (it may be one of them).
        let executor = format!("{src}\nasync def f(loop):\n    await loop.run_in_executor(None, g)\n");
        let ParsePlan::Only(ranges) = filter.plan(executor.as_bytes()) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &executor[r.clone()]).collect();
        assert!(kept.contains("async def f(loop):") && kept.contains("if __name__ == '__main__':"), "{kept}");
        assert!(!kept.contains("unrelated") && !kept.contains("def helper"), "{kept}");
        assert_eq!(filter.plan(b"X = 1\n"), ParsePlan::Skip);
    }

    #[test]
    fn a_reexport_parse_keeps_every_import() {
        let body: String = (0..20).map(|i| format!("    x = {i}\n")).collect();
        let src = format!(
            "from .utils import get_cache\n\n\ndef lazy():\n    from .store import Store\n    return Store\n\n\n\
             def unrelated():\n{body}\n\nclass Api:\n    def load(self):\n        import json\n\n    def other(self):\n{body}"
        );
        let ParsePlan::Only(ranges) = Prefilter::reexport_plan(src.as_bytes()) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &src[r.clone()]).collect();
        for import in ["from .utils import get_cache", "from .store import Store", "class Api:", "import json"] {
            assert!(kept.contains(import), "{import}: {kept}");
        }
        assert!(!kept.contains("def unrelated") && !kept.contains("def other"), "{kept}");
    }
    #[test]
    fn a_naming_plan_keeps_what_reaches_a_backed_name() {
        let body: String = (0..20).map(|i| format!("    x = {i}\n")).collect();
        let src = format!(
            "from pkg.matrices import (Matrix, dotprodsimp as dps)\n\n\n\
             def uses_alias():\n    with dps(True):\n        return 1\n\n\n\
             def receiver():\n    from crum import _thread_locals\n    return _thread_locals.user\n\n\n\
             def caller():\n    return receiver()\n\n\n\
             def keyword_only():\n    return simplify(x, dotprodsimp=True)\n{body}\n\n\
             def matrix_only():\n    return Matrix()\n{body}"
        );
        let sites: Vec<usize> = ["dotprodsimp", "_thread_locals"]
            .iter()
            .flat_map(|word| src.match_indices(word).map(|(at, _)| at))
            .filter(|&at| !src[at..].starts_with("dotprodsimp=True"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let filter = Prefilter::new(&ApiIndex::new());
        let ParsePlan::Only(ranges) = filter.naming_plan(src.as_bytes(), &sites) else { panic!("a partial plan") };
        let kept: String = ranges.iter().map(|r| &src[r.clone()]).collect();
        // Through the alias its import binds, the function-local import, and a caller.
        for block in ["def uses_alias", "def receiver", "def caller"] {
            assert!(kept.contains(block), "{block}: {kept}");
        }
        // `Matrix` is imported beside the backed name, not backed itself.
        assert!(!kept.contains("def keyword_only") && !kept.contains("def matrix_only"), "{kept}");
        // A star import of a statement naming one may bind anything.
        let star = format!("from pkg.matrices import *  # dotprodsimp\n\n\ndef f():\n{body}");
        let at = star.find("dotprodsimp").unwrap();
        assert_eq!(filter.naming_plan(star.as_bytes(), &[at]), ParsePlan::Full);
    }
}

#[cfg(test)]
mod api_name_tests {
    use super::*;
    use crate::api_index::{ApiKind, ThreadLocalApi};

    fn index() -> ApiIndex {
        let mut index = ApiIndex::new();
        index.insert(ThreadLocalApi {
            qualname: "crum.get_current_request".into(),
            holder: "crum._thread_locals".into(),
            package: "django-crum".into(),
            path: "crum/__init__.py".into(),
            line: 1,
            kind: ApiKind::Function,
            chain: Vec::new(),
        });
        index
    }

    #[test]
    fn of_a_module_naming_an_api_the_blocks_that_name_it_or_what_it_binds_are_parsed() {
        let filter = Prefilter::new(&index());
        let source = "from crum import get_current_request as current\n\
                      user_of = get_current_request\n\n\
                      def direct():\n    return current()\n\n\
                      def through_alias():\n    return user_of().user\n\n\
                      class Mine:\n    def unrelated(self):\n        return 1\n\n    def uses(self):\n        return get_current_request()\n\n\
                      def unrelated():\n    return 2\n";
        // Enough left out to be worth a partial parse (a quarter of the file).
        let source = format!("{source}{}", "\ndef more():\n    return [1, 2, 3]\n".repeat(8));
        let plan = filter.plan_in(source.as_bytes(), "app");
        let ParsePlan::Only(ranges) = plan else { panic!("a partial plan: {plan:?}") };
        let kept: String = ranges.iter().map(|r| &source[r.clone()]).collect();
        for needed in ["def direct", "def through_alias", "class Mine", "def uses", "user_of = get_current_request"] {
            assert!(kept.contains(needed), "{needed} left out of {kept}");
        }
        assert!(!kept.contains("def unrelated"), "{kept}");
    }

    #[test]
    fn a_module_is_parsed_when_it_names_an_api_and_its_package() {
        let filter = Prefilter::new(&index());
        let caller = b"from crum import get_current_request\n\ndef f():\n    return get_current_request()\n";
        assert_eq!(filter.plan_in(caller, "app"), ParsePlan::Full);
        // The package alone, or the name as part of another word, is no use of the API.
        assert_eq!(filter.plan_in(b"import crum\n\ndef f():\n    return crum.other()\n", "app"), ParsePlan::Skip);
        assert_eq!(filter.plan_in(b"import crum\nx = get_current_requests\n", "app"), ParsePlan::Skip);
        // The package's own modules are not its users.
        assert_eq!(filter.plan_in(caller, "crum"), ParsePlan::Skip);
        // The package is named by an import, here continued on the next line; a package
        // named only in a comment is not imported.
        let continued = b"import os, \\\n    crum\n\ndef f():\n    return crum.get_current_request()\n";
        assert_eq!(filter.plan_in(continued, "app"), ParsePlan::Full);
        let joined = b"from crum \\\n    import get_current_request\n\ndef f():\n    return get_current_request()\n";
        assert_eq!(filter.plan_in(joined, "app"), ParsePlan::Full, "the package named on the line before");
        let comment = b"# like crum does\nfrom .local import get_current_request\n";
        assert_eq!(filter.plan_in(comment, "app"), ParsePlan::Skip);
    }
}
