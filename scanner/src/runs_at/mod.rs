//! "Runs at": when the code holding each finding runs — while a request is served, in a
//! Celery worker, only while a process starts, only in tests — found by walking its
//! package's call graph back from the finding's function to entry points ([`entry`]).
//!
//! The graph is read from text, as the import index is: every module of the finding's
//! top-level package is outlined ([`outline`]) and each definition's name is looked up where
//! it is written. A name written in another definition is a call from it (or a reference
//! that leads to one: a callback, a decorator); written in module-level code, a call at
//! import when it is called there, a function (or class) handed
//! over for later when it is not (`rules.add_perm("p", is_staff)`: unknown) — unless it is a
//! URLconf's target or a signal's `connect`ed receiver, which run per request. A method is followed through attribute uses of its name (`self.m()`, `obj.m()`:
//! any class's method of that name, an over-approximation), a dunder method through its
//! class's name, a function nested in another through its enclosing function and, when that
//! one is a decorator, through the functions it decorates (the wrapper runs in their place).
//!
//! The walk keeps, for each kind of entry point, the first (shortest) path found; the
//! finding runs at request time if any path leads to a request entry point, else in a
//! worker, else — when some path ends at a function nothing in the package calls (a
//! library's API, called from outside) or the walk gave up — at an unknown time; only when
//! every path ends at start-up code (or tests) is it start-up (or tests). Names used in more
//! than [`MAX_REFERENCES`] places, and walks longer than [`MAX_VISITS`], end as unknown: an
//! over-approximation must not make everything reachable from everything.

pub mod calls_out;
mod entry;
mod lazy;
pub mod outline;

use std::collections::{HashMap, VecDeque};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub use calls_out::calls_out;
pub use entry::{entry_point, start_up_module};
use outline::Outline;

use crate::{
    finding::{Finding, RunsAt, RunsAtPath},
    prefilter::followed::is_identifier_byte,
    source::{is_test_module, ModuleNamer, SourceFile},
};

/// References of one name past which a walk does not follow it (`get`, `save`, `run`).
pub const MAX_REFERENCES: usize = 60;
/// Definitions one finding's walk visits at most.
pub const MAX_VISITS: usize = 400;

/// Rules whose module-level findings are objects made at import for later use (a lock, a
/// thread local): when they matter is when they are used, which the graph does not follow.
const MADE_AT_IMPORT_USED_LATER: &[&str] = &["UT001", "UT002", "UT003", "UT012", "UT100"];

/// Which of two places a finding runs at counts: request before worker before unknown
/// before start-up before tests.
pub fn precedence(at: RunsAt) -> u8 {
    match at {
        RunsAt::Request => 0,
        RunsAt::Worker => 1,
        RunsAt::Unknown => 2,
        RunsAt::StartUp => 3,
        RunsAt::Tests => 4,
    }
}

/// One package's findings' runs-at (by index) and calls out.
type PackageResult = (Vec<(usize, RunsAtPath)>, Vec<crate::finding::CallOut>);

/// Sets every finding's [`Finding::runs_at`].
pub fn annotate(files: &[SourceFile], namer: &ModuleNamer, max_file_size: u64, findings: &mut [Finding]) {
    annotate_and_call_out(files, namer, max_file_size, findings, false);
}

/// [`annotate`], and — when `with_calls_out` — the scan's calls out ([`calls_out`]), from
/// one call graph per top-level package.
pub fn annotate_and_call_out(
    files: &[SourceFile],
    namer: &ModuleNamer,
    max_file_size: u64,
    findings: &mut [Finding],
    with_calls_out: bool,
) -> Option<Vec<crate::finding::CallOut>> {
    let top = |path: &str| namer.module_name(path).0.split('.').next().unwrap_or("").to_owned();
    let mut by_package: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, finding) in findings.iter().enumerate() {
        by_package.entry(top(&finding.path)).or_default().push(i);
    }
    let mut members_of: HashMap<String, Vec<&SourceFile>> = HashMap::new();
    for file in files {
        let package = top(&file.path);
        if with_calls_out && !is_test_module(&file.path) {
            by_package.entry(package.clone()).or_default();
        }
        if by_package.contains_key(&package) {
            members_of.entry(package).or_default().push(file);
        }
    }
    let mut packages: Vec<(String, Vec<usize>)> = by_package.into_iter().collect();
    packages.sort();
    let results: Vec<PackageResult> = packages
        .par_iter()
        .map(|(package, wanted)| {
            let members = members_of.get(package).map_or(&[][..], Vec::as_slice);
            // Calls out are read from every file's text; findings only need their own files'.
            let kept: rustc_hash::FxHashSet<&str> = if with_calls_out {
                members.iter().map(|f| f.path.as_str()).collect()
            } else {
                wanted.iter().map(|&i| findings[i].path.as_str()).collect()
            };
            let graph = Graph::read(members, &kept, namer, max_file_size);
            let annotated = graph.annotate(wanted, findings);
            let calls = if with_calls_out { calls_out::of_package(&graph, package) } else { Vec::new() };
            (annotated, calls)
        })
        .collect();
    let mut calls = Vec::new();
    for (annotated, package_calls) in results {
        for (i, runs_at) in annotated {
            findings[i].runs_at = Some(runs_at);
        }
        calls.extend(package_calls);
    }
    with_calls_out.then(|| calls_out::most_urgent(calls))
}

impl Graph {
    /// When each of `wanted` (indexes into `findings`, all of this package) runs.
    fn annotate(&self, wanted: &[usize], findings: &[Finding]) -> Vec<(usize, RunsAtPath)> {
        let mut memo: HashMap<Option<(usize, usize)>, RunsAtPath> = HashMap::new();
        let mut from =
            |start: Option<Node>, path: &str| memo.entry(start).or_insert_with(|| self.runs_at(start, path)).clone();
        wanted
            .iter()
            .map(|&i| {
                let finding = &findings[i];
                let start = self.definition_at(&finding.path, finding.start.line);
                // Module-level code, or a class body made at import.
                let module_level = start.is_none_or(|node| {
                    self.files[node.0].outline.defs[node.1].is_class && self.enclosing_function(node).is_none()
                });
                let result = if module_level && !finding.also_on_lines.is_empty() {
                    // A module-level global changed by functions (UT010): when they run.
                    let writes = finding.also_on_lines.iter().map(|&line| {
                        self.lazily_at(&finding.path, line)
                            .unwrap_or_else(|| from(self.definition_at(&finding.path, line), &finding.path))
                    });
                    writes.min_by_key(|r| precedence(r.at)).expect("at least one write")
                } else if module_level && MADE_AT_IMPORT_USED_LATER.contains(&finding.rule.as_str()) {
                    RunsAtPath {
                        at: RunsAt::Unknown,
                        why: "made at import, used wherever it is imported".into(),
                        path: Vec::new(),
                        open_ends: Vec::new(),
                    }
                } else if let Some(once) = self.lazily_at(&finding.path, finding.start.line) {
                    once
                } else {
                    from(start, &finding.path)
                };
                (i, result)
            })
            .collect()
    }
}

/// What a name is an attribute of where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Receiver {
    /// A bare name.
    None,
    /// `self.name` / `cls.name` in a method of this class (in the reference's file).
    OwnClass(Option<usize>),
    /// `X.name` for a plain name `X`.
    Named(String),
    /// Anything else (`a.b.name`, `f().name`).
    Other,
}

/// A reference to a name: where, and what kind of place it is.
#[derive(Clone, Debug)]
struct Reference {
    file: usize,
    /// The innermost definition holding it (`None`: module-level code).
    def: Option<usize>,
    /// What it is an attribute of (`self.name`, `Cls.name`, `obj.name`), if it is one.
    receiver: Receiver,
    /// Called right there (`name(...)`).
    called: bool,
    /// It decorates this definition (`@name`).
    decorates: Option<usize>,
    /// Module-level code that runs it per request: a URLconf entry or a `connect` call.
    listed: Option<&'static str>,
    /// A call under `if <not set yet>:` ([`lazy`]).
    guard: Option<lazy::LazyGuard>,
}

struct GraphFile {
    path: String,
    outline: Outline,
    /// Its text, kept only for the files holding findings (to find their lines).
    bytes: Vec<u8>,
    /// It imports Django (or Django REST framework).
    django: bool,
    /// The attributes some lazy guard of the package tests that each definition rebinds
    /// (by definition index): a call under such a guard to one of them runs once.
    rebinds: FxHashMap<usize, Vec<String>>,
}

/// One package's definitions and where each of their names is written.
struct Graph {
    files: Vec<GraphFile>,
    references: FxHashMap<String, Vec<Reference>>,
    /// Every class's bases (their last segments), by class name.
    bases: FxHashMap<String, Vec<String>>,
    /// How many classes define a method of each name.
    method_owners: FxHashMap<String, usize>,
    /// Every class's ancestors through the package's classes, by name (computed once: a walk
    /// asks for them at every method and constructor it follows).
    ancestors: FxHashMap<String, Vec<String>>,
    /// Every class's descendants in the package, by name.
    descendants: FxHashMap<String, Vec<String>>,
    /// Classes the package instantiates only in module-level code (`settings =
    /// LazySettings()`): their instances' state is the process's.
    made_once: rustc_hash::FxHashSet<String>,
}

type Node = (usize, usize);

impl Graph {
    /// The graph of `members`; the text of the files in `kept` stays (their findings' lines
    /// are looked up).
    fn read(
        members: &[&SourceFile],
        kept: &rustc_hash::FxHashSet<&str>,
        namer: &ModuleNamer,
        max_file_size: u64,
    ) -> Graph {
        let read: Vec<(GraphFile, Vec<u8>)> = members
            .par_iter()
            .filter_map(|file| {
                let bytes = file.bytes(max_file_size).ok()?.into_owned();
                let module = namer.module_name(&file.path).0;
                let outline = Outline::read(&bytes, &module);
                // An import of Django's (a word in a comment or a setting's name is not one).
                let django = outline.imports.iter().any(|r| {
                    let statement = &bytes[r.clone()];
                    memchr::memmem::find(statement, b"django").is_some()
                        || memchr::memmem::find(statement, b"rest_framework").is_some()
                });
                Some((
                    GraphFile {
                        path: file.path.clone(),
                        outline,
                        bytes: Vec::new(),
                        django,
                        rebinds: Default::default(),
                    },
                    bytes,
                ))
            })
            .collect();
        let names: rustc_hash::FxHashSet<&[u8]> =
            read.iter().flat_map(|(file, _)| file.outline.defs.iter().map(|d| d.name.as_bytes())).collect();
        let filter = NameFilter::new(names.iter().copied());
        let found: Vec<Vec<(&str, Reference)>> = read
            .par_iter()
            .enumerate()
            .map(|(index, (file, bytes))| file_references(index, &file.outline, bytes, &names, &filter))
            .collect();
        let mut references: FxHashMap<String, Vec<Reference>> = FxHashMap::default();
        for (name, reference) in found.into_iter().flatten() {
            match references.get_mut(name) {
                Some(list) => list.push(reference),
                None => {
                    references.insert(name.to_owned(), vec![reference]);
                }
            }
        }
        // Which definitions rebind what the package's lazy guards test.
        let guarded: rustc_hash::FxHashSet<&str> =
            references.values().flatten().filter_map(|r| r.guard.as_ref()).map(|g| g.attr.as_str()).collect();
        let mut read = read;
        if !guarded.is_empty() {
            for (file, bytes) in &mut read {
                for attr in &guarded {
                    for at in lazy::rebind_sites(bytes, attr) {
                        if let Some(def) = file.outline.innermost(at) {
                            let list = file.rebinds.entry(def).or_default();
                            if !list.iter().any(|a| a == attr) {
                                list.push((*attr).to_owned());
                            }
                        }
                    }
                }
            }
        }
        let files: Vec<GraphFile> = read
            .into_iter()
            .map(|(file, bytes)| if kept.contains(file.path.as_str()) { GraphFile { bytes, ..file } } else { file })
            .collect();
        let mut bases: FxHashMap<String, Vec<String>> = FxHashMap::default();
        let mut method_owners: FxHashMap<String, usize> = FxHashMap::default();
        for file in &files {
            for def in &file.outline.defs {
                if def.is_class {
                    let names = def.signature.split(',').filter_map(|b| {
                        let base = b.trim().split(['(', '[']).next()?.trim();
                        (!base.contains('=') && !base.is_empty())
                            .then(|| base.rsplit('.').next().unwrap_or(base).to_owned())
                    });
                    bases.entry(def.name.clone()).or_default().extend(names);
                } else if def.parent.is_some_and(|p| file.outline.defs[p].is_class) {
                    *method_owners.entry(def.name.clone()).or_default() += 1;
                }
            }
        }
        let ancestors: FxHashMap<String, Vec<String>> =
            bases.keys().map(|class| (class.clone(), ancestors_of(&bases, class))).collect();
        let mut descendants: FxHashMap<String, Vec<String>> = FxHashMap::default();
        for (class, above) in &ancestors {
            for ancestor in above {
                if ancestor != class {
                    descendants.entry(ancestor.clone()).or_default().push(class.clone());
                }
            }
        }
        for list in descendants.values_mut() {
            list.sort();
        }
        let made_once = bases
            .keys()
            .filter(|class| {
                // Called exactly once outside tests, and that call is in module-level code.
                let mut calls = references
                    .get(*class)
                    .into_iter()
                    .flatten()
                    .filter(|r| r.called && r.decorates.is_none() && !is_test_module(&files[r.file].path));
                matches!((calls.next(), calls.next()), (Some(call), None) if call.def.is_none())
            })
            .cloned()
            .collect();
        Graph { files, references, bases, method_owners, ancestors, descendants, made_once }
    }

    /// Line `line` of `path` sets, under `if <not set yet>:`, what that tests: it runs once
    /// per process ([`lazy`]).
    pub(super) fn lazily_at(&self, path: &str, line: u32) -> Option<RunsAtPath> {
        let (file, def) = self.definition_at(path, line)?;
        let bytes = &self.files[file].bytes;
        let start = line_start(bytes, line)?;
        let at = start + bytes[start..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        let guard = lazy::guard_at(bytes, self.files[file].outline.defs[def].block.start, at)?;
        (guard.rebound_in_block && self.trusts(&guard, file, Some(def))).then(|| RunsAtPath {
            at: RunsAt::StartUp,
            why: lazy::once_why(&guard.condition),
            path: vec![self.files[file].outline.defs[def].qualname.clone()],
            open_ends: Vec::new(),
        })
    }

    /// Whether `guard`, in definition `def` of `file`, tests process-wide state: an
    /// instance's attribute only in a method of a class made once.
    fn trusts(&self, guard: &lazy::LazyGuard, file: usize, def: Option<usize>) -> bool {
        if !guard.on_instance {
            return true;
        }
        let defs = &self.files[file].outline.defs;
        let class = std::iter::successors(def, |&d| defs[d].parent).find(|&d| defs[d].is_class);
        class.is_some_and(|c| self.made_once.contains(&defs[c].name))
    }

    /// The definition holding line `line` of `path` (`None`: module-level code, or a file
    /// the graph did not read).
    fn definition_at(&self, path: &str, line: u32) -> Option<Node> {
        let file = self.files.iter().position(|f| f.path == path)?;
        let at = line_start(&self.files[file].bytes, line)?;
        // The first non-blank byte of the line: a header's own line is inside its block.
        Some((file, self.files[file].outline.innermost(at + 1)?))
    }

    fn runs_at(&self, start: Option<Node>, path: &str) -> RunsAtPath {
        let Some(start) = start else {
            if is_test_module(path) {
                return RunsAtPath { at: RunsAt::Tests, why: "a test".into(), path: Vec::new(), open_ends: Vec::new() };
            }
            let why = start_up_module(path).unwrap_or("module-level code (runs at import)");
            return RunsAtPath { at: RunsAt::StartUp, why: why.into(), path: Vec::new(), open_ends: Vec::new() };
        };
        let mut found: HashMap<RunsAt, (String, Vec<Node>)> = HashMap::new();
        let mut open_ends: Vec<String> = Vec::new();
        let mut came_from: HashMap<Node, Option<Node>> = HashMap::from([(start, None)]);
        let mut queue = VecDeque::from([start]);
        let chain = |came_from: &HashMap<Node, Option<Node>>, mut node: Node| {
            let mut nodes = vec![node];
            while let Some(Some(previous)) = came_from.get(&node) {
                nodes.push(*previous);
                node = *previous;
            }
            nodes // entry point first
        };
        let record = |found: &mut HashMap<RunsAt, (String, Vec<Node>)>, at: RunsAt, why: String, nodes: Vec<Node>| {
            found.entry(at).or_insert((why, nodes));
        };
        while let Some(node) = queue.pop_front() {
            if found.contains_key(&RunsAt::Request) {
                break;
            }
            if came_from.len() > MAX_VISITS {
                record(
                    &mut found,
                    RunsAt::Unknown,
                    "the call graph is too large to follow".into(),
                    chain(&came_from, node),
                );
                break;
            }
            let (file, def) = node;
            let outline = &self.files[file].outline;
            let graph_file = &self.files[file];
            if let Some((at, why)) = entry_point(&outline.defs[def], outline, &graph_file.path, graph_file.django) {
                record(&mut found, at, why.into(), chain(&came_from, node));
                continue;
            }
            let callers = match self.callers(node) {
                Ok(callers) => callers,
                Err(why) => {
                    record(&mut found, RunsAt::Unknown, why, chain(&came_from, node));
                    continue;
                }
            };
            if callers.is_empty() {
                let end = self.called_as(node);
                if open_ends.len() < crate::finding::MAX_OPEN_ENDS && !open_ends.contains(&end) {
                    open_ends.push(end);
                }
                record(
                    &mut found,
                    RunsAt::Unknown,
                    "no caller in its package (called from outside it)".into(),
                    chain(&came_from, node),
                );
            }
            for caller in callers {
                match caller {
                    Caller::Def(next) => {
                        if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(next) {
                            e.insert(Some(node));
                            queue.push_back(next);
                        }
                    }
                    Caller::Entry(at, why) => record(&mut found, at, why, chain(&came_from, node)),
                }
            }
        }
        let at = found.keys().copied().min_by_key(|at| precedence(*at)).unwrap_or(RunsAt::Unknown);
        let (why, nodes) = found.remove(&at).unwrap_or_else(|| ("no caller found".into(), vec![start]));
        let path = nodes.iter().map(|&(f, d)| self.files[f].outline.defs[d].qualname.clone()).collect();
        // Other code's calls matter only while nothing here says request time or a worker.
        let open_ends = if at == RunsAt::Unknown { open_ends } else { Vec::new() };
        RunsAtPath { at, why, path, open_ends }
    }

    /// The name code outside the package calls `node` by: its qualified name, or its class's
    /// for a constructor (`Cls(...)` runs `Cls.__init__`).
    fn called_as(&self, (file, def): Node) -> String {
        let defs = &self.files[file].outline.defs;
        let d = &defs[def];
        match d.parent {
            Some(p) if defs[p].is_class && matches!(d.name.as_str(), "__init__" | "__new__") => {
                defs[p].qualname.clone()
            }
            _ => d.qualname.clone(),
        }
    }

    /// What runs `node`: definitions calling it, or entry points reached directly (a call in
    /// module-level code, a URLconf entry). `Err` when its name is too common to follow.
    fn callers(&self, (file, def): Node) -> Result<Vec<Caller>, String> {
        let outline = &self.files[file].outline;
        let d = &outline.defs[def];
        let parent = d.parent.map(|p| (p, &outline.defs[p]));
        let mut callers = Vec::new();
        let references = |name: &str| self.references.get(name).map_or(&[][..], Vec::as_slice);
        // A class body runs once, when its `class` statement does: at import, or when the
        // function holding it runs. (Referring to the class later runs none of it.)
        if d.is_class {
            return Ok(vec![match self.enclosing_function((file, def)) {
                Some(function) => Caller::Def(function),
                None => Caller::Entry(RunsAt::StartUp, "a class body (runs at import)".into()),
            }]);
        }
        let accepted: Vec<&Reference> = match parent {
            // A function nested in a function runs when that one's result is called: as the
            // enclosing function itself (over-approximated), or — a decorator's wrapper — in
            // place of the functions it decorates.
            Some((p, enclosing)) if !enclosing.is_class => {
                callers.push(Caller::Def((file, p)));
                if d.wraps {
                    for reference in references(&enclosing.name) {
                        if let Some(decorated) = reference.decorates {
                            callers.push(Caller::Def((reference.file, decorated)));
                        }
                    }
                }
                return Ok(callers);
            }
            // `__init__` and `__new__` run when the class, or a subclass, is instantiated.
            Some((_, class)) if matches!(d.name.as_str(), "__init__" | "__new__") => {
                let family = self.descendants(&class.name);
                family.iter().flat_map(|name| references(name)).filter(|r| r.called && r.decorates.is_none()).collect()
            }
            // Another dunder method runs when its class is used.
            Some((_, class)) if d.name.starts_with("__") && d.name.ends_with("__") => {
                references(&class.name).iter().filter(|r| r.decorates.is_none()).collect()
            }
            // A method: called on `self`/`cls` in a related class, on a related class by name,
            // or — when no other class has a method of that name — on anything.
            Some((_, class)) => {
                let distinctive = self.method_owners.get(&d.name).copied().unwrap_or(0) <= 1;
                references(&d.name)
                    .iter()
                    .filter(|r| match &r.receiver {
                        Receiver::None => false,
                        Receiver::OwnClass(Some(k)) => {
                            self.related(&self.files[r.file].outline.defs[*k].name, &class.name)
                        }
                        Receiver::OwnClass(None) => distinctive,
                        Receiver::Named(name) if self.bases.contains_key(name) => self.related(name, &class.name),
                        Receiver::Named(_) | Receiver::Other => distinctive,
                    })
                    .collect()
            }
            None => references(&d.name).iter().collect(),
        };
        if accepted.len() > MAX_REFERENCES {
            return Err(format!("`{}` is used in {} places: too common to follow", d.name, accepted.len()));
        }
        for reference in accepted {
            let path = &self.files[reference.file].path;
            if is_test_module(path) {
                // A package's tests calling its function say nothing of when it runs: it is
                // still called from outside (its own code in a test module is "tests" by
                // `entry_point`).
                continue;
            }
            if let Some(guard) = &reference.guard {
                let sets_it = guard.rebound_in_block
                    || self.files[file].rebinds.get(&def).is_some_and(|attrs| attrs.contains(&guard.attr));
                // `self.m()` that runs a method of a class made once runs on that object.
                let on_callee =
                    matches!(reference.receiver, Receiver::OwnClass(_)) && self.trusts(guard, file, Some(def));
                if sets_it && (on_callee || self.trusts(guard, reference.file, reference.def)) {
                    callers.push(Caller::Entry(RunsAt::StartUp, lazy::once_why(&guard.condition)));
                    continue;
                }
            }
            if let Some(why) = reference.listed {
                callers.push(Caller::Entry(RunsAt::Request, why.into()));
            } else if reference.decorates.is_some() && !d.is_class {
                // `@name` runs `name` when the decorated definition is made.
                match reference.def {
                    Some(holder) => callers.push(Caller::Def((reference.file, holder))),
                    None => callers.push(Caller::Entry(RunsAt::StartUp, "a decorator (applied at import)".into())),
                }
            } else if let Some(holder) = reference.def {
                callers.push(Caller::Def((reference.file, holder)));
            } else if let Some(why) = start_up_module(path) {
                callers.push(Caller::Entry(RunsAt::StartUp, why.into()));
            } else if reference.called {
                callers.push(Caller::Entry(RunsAt::StartUp, "called at import".into()));
            } else {
                // Passed on or stored at import (`rules.add_perm("p", is_staff | has_role)`,
                // `atexit.register(f)`): registered to be called later, by whatever holds it.
                callers.push(Caller::Entry(
                    RunsAt::Unknown,
                    "handed over at import (not called): runs whenever its holder calls it".into(),
                ));
            }
        }
        Ok(callers)
    }

    /// The function `node` is nested in, through classes (`None`: it is made at import).
    fn enclosing_function(&self, (file, def): Node) -> Option<Node> {
        let defs = &self.files[file].outline.defs;
        let mut scope = defs[def].parent;
        while let Some(s) = scope {
            if !defs[s].is_class {
                return Some((file, s));
            }
            scope = defs[s].parent;
        }
        None
    }

    /// The classes named `class` derives from, by name, through the package's classes.
    fn ancestors(&self, class: &str) -> &[String] {
        self.ancestors.get(class).map_or(&[], Vec::as_slice)
    }

    /// `class` and the package's classes deriving from it.
    fn descendants<'a>(&'a self, class: &'a str) -> Vec<&'a str> {
        let mut family = vec![class];
        family.extend(self.descendants.get(class).into_iter().flatten().map(String::as_str));
        family
    }

    /// One of `a` and `b` is the other or derives from it: a call on `self` in one may run
    /// the other's method.
    fn related(&self, a: &str, b: &str) -> bool {
        a == b || self.ancestors(a).iter().any(|x| x == b) || self.ancestors(b).iter().any(|x| x == a)
    }
}

/// The classes named `class` derives from, by name, through `bases` (at most 64).
fn ancestors_of(bases: &FxHashMap<String, Vec<String>>, class: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut queue = vec![class];
    while let Some(name) = queue.pop() {
        for base in bases.get(name).into_iter().flatten() {
            if !found.contains(base) && found.len() < 64 {
                found.push(base.clone());
                queue.push(base);
            }
        }
    }
    found
}

/// Where line `line` (1-based) of `bytes` starts.
fn line_start(bytes: &[u8], line: u32) -> Option<usize> {
    match line {
        0 | 1 => Some(0),
        _ => Some(memchr::memchr_iter(b'\n', bytes).nth(line as usize - 2)? + 1),
    }
}

/// The references in one file to any of `names`.
fn file_references<'b>(
    index: usize,
    outline: &Outline,
    bytes: &'b [u8],
    names: &rustc_hash::FxHashSet<&[u8]>,
    filter: &'b NameFilter,
) -> Vec<(&'b str, Reference)> {
    let urlconf = memchr::memmem::find(bytes, b"urlpatterns").is_some();
    let headers: rustc_hash::FxHashSet<usize> = outline.defs.iter().map(|d| d.name_at).collect();
    let imports = &outline.imports;
    let mut found = Vec::new();
    for (at, word) in identifiers(bytes, filter) {
        if !names.contains(word) || headers.contains(&at) {
            continue;
        }
        // An import binds a name; it calls nothing.
        let import =
            imports.partition_point(|r| r.start <= at).checked_sub(1).is_some_and(|i| imports[i].contains(&at));
        let Ok(name) = std::str::from_utf8(word) else { continue };
        if import {
            continue;
        }
        let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        let first = bytes[line_start..].iter().find(|b| !matches!(b, b' ' | b'\t'));
        let decorates =
            if first == Some(&b'@') { outline.defs.iter().position(|d| d.decorators.contains(&at)) } else { None };
        let def = match decorates {
            // A decorator's reference belongs to where the decorated definition is made, not
            // to the definition the decorator line happens to follow.
            Some(d) => outline.defs[d].parent,
            None => outline.innermost(at),
        };
        let listed = if def.is_none() && decorates.is_none() { listed_at(bytes, at, urlconf) } else { None };
        let receiver = receiver_at(outline, bytes, at, def);
        let after = bytes[at + word.len()..].iter().find(|b| !matches!(b, b' ' | b'\t'));
        let called = after == Some(&b'(');
        let guard = match def {
            Some(d) if called => lazy::guard_at(bytes, outline.defs[d].block.start, at),
            _ => None,
        };
        found.push((name, Reference { file: index, def, receiver, called, decorates, listed, guard }));
    }
    found
}

/// What the name at `at` is an attribute of (`def`: the definition holding it).
fn receiver_at(outline: &Outline, bytes: &[u8], at: usize, def: Option<usize>) -> Receiver {
    if at == 0 || bytes[at - 1] != b'.' {
        return Receiver::None;
    }
    let end = at - 1;
    let start = end - bytes[..end].iter().rev().take_while(|&&b| is_identifier_byte(b)).count();
    if start == end || (start > 0 && matches!(bytes[start - 1], b'.' | b')' | b']')) {
        return Receiver::Other;
    }
    match &bytes[start..end] {
        b"self" | b"cls" => {
            let mut scope = def;
            while let Some(d) = scope {
                if outline.defs[d].is_class {
                    return Receiver::OwnClass(Some(d));
                }
                scope = outline.defs[d].parent;
            }
            Receiver::OwnClass(None)
        }
        name => Receiver::Named(String::from_utf8_lossy(name).into_owned()),
    }
}

enum Caller {
    Def(Node),
    Entry(RunsAt, String),
}

/// Module-level code at `at` that hands the name to something running it per request: a
/// URLconf entry (`path("x/", views.x)`), a signal's `connect`.
fn listed_at(bytes: &[u8], at: usize, urlconf: bool) -> Option<&'static str> {
    let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
    let before = &bytes[line_start..at];
    let has = |needle: &[u8]| memchr::memmem::find(before, needle).is_some();
    if has(b".connect(") {
        return Some("a signal receiver");
    }
    if urlconf
        && (has(b"path(") || has(b"url(") || bytes[at..].starts_with(b"as_view") || statement_in_urlpatterns(bytes, at))
    {
        return Some("a URLconf target");
    }
    None
}

/// `at` is inside a bracketed `urlpatterns = [...]` (or `+=`) statement.
fn statement_in_urlpatterns(bytes: &[u8], at: usize) -> bool {
    let Some(start) = memchr::memmem::rfind(&bytes[..at], b"urlpatterns") else { return false };
    let end = crate::prefilter::followed::statement_end(bytes, start);
    at < end
}

/// Which identifiers may be names of a set: a bit per (first byte, second byte, length) hash,
/// so that most identifiers of a module (`self`, `return`, local names) are passed over
/// without hashing them.
struct NameFilter {
    bits: Vec<u64>,
}

impl NameFilter {
    const BITS: usize = 1 << 16;

    fn new<'a>(names: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut bits = vec![0u64; Self::BITS / 64];
        for name in names {
            let key = Self::key(name);
            bits[key / 64] |= 1 << (key % 64);
        }
        NameFilter { bits }
    }

    fn key(word: &[u8]) -> usize {
        let second = word.get(1).copied().unwrap_or(0) as usize;
        ((word[0] as usize) << 8 ^ second << 3 ^ word.len().min(255)) % Self::BITS
    }

    fn may_hold(&self, word: &[u8]) -> bool {
        let key = Self::key(word);
        self.bits[key / 64] & (1 << (key % 64)) != 0
    }
}

/// Every identifier of `bytes` that `filter` may hold, with where it starts.
fn identifiers<'b>(bytes: &'b [u8], filter: &'b NameFilter) -> impl Iterator<Item = (usize, &'b [u8])> + 'b {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            if !is_identifier_byte(bytes[at]) {
                at += 1;
                continue;
            }
            let start = at;
            at += 1;
            while at < bytes.len() && is_identifier_byte(bytes[at]) {
                at += 1;
            }
            let word = &bytes[start..at];
            if !word[0].is_ascii_digit() && filter.may_hold(word) {
                return Some((start, word));
            }
        }
        None
    })
}

#[cfg(test)]
mod tests;
