//! For a file that imports a module the rules resolve names from (`threading`, `asgiref`,
//! …): which top-level `def`/`class` blocks, and which methods of top-level classes, can
//! matter to a rule (a class is split into its methods and the rest: the header and the
//! class-level statements, needed with any of its methods). Every finding of UT001–UT009,
//! UT011, UT012 and UT100, and every thread-local API, sits in code that names something
//! bound, directly or through other names, by such an import. So a block is needed when it
//! mentions a *followed* name:
//!
//! - the names relevant import statements bind (`import threading as t` → `t`; `from
//!   asgiref.sync import sync_to_async` → `sync_to_async`; not `os` of `import os,
//!   threading`), wherever the statement is;
//! - the task spawners UT007 looks at (`gather`, `create_task`, `ensure_future`);
//! - the targets of assignments whose right side names a followed name (`_lock =
//!   threading.Lock()` → `_lock`; `self._lock = …` → `_lock`), in module-level code and in
//!   needed blocks — except a name a function binds outright (`lock = threading.Lock()` in
//!   a function without `global`): that is its own local, which no other block sees;
//! - the name of a needed block (`class RequestCache(local)` → `RequestCache`, so its
//!   subclasses and users are needed too);
//!
//! repeated until nothing changes. The test is textual and loose (strings and comments count),
//! so it can only keep too much, never too little; the benchmark checks on the whole
//! openedx-platform dependency set that the findings and API index are byte-identical to a
//! full parse.

use std::ops::Range;

use rustc_hash::FxHashSet as HashSet;

/// UT007 reports these calls in any module that uses context variables, whatever they are
/// called on.
const TASK_SPAWNER_NAMES: &[&[u8]] = &[b"gather", b"create_task", b"ensure_future"];

/// A top-level block, or a method of a top-level class, and what the search needs to know of
/// it.
struct Block<'s> {
    range: Range<usize>,
    /// The module-level name it defines (a method's name is not one).
    name: Option<&'s [u8]>,
    /// Its text: all of its range, except for a class with methods, whose methods are blocks
    /// of their own.
    pieces: Vec<Range<usize>>,
    words: HashSet<&'s [u8]>,
    needed: bool,
    /// For a method: its class's block. A needed method makes its class needed.
    class: Option<usize>,
    /// A function or method: a name it binds outright is its own local (unless it declares
    /// it `global`), which no other block sees.
    function: bool,
}

/// An assignment's targets — each name, and whether the target binds it outright (`x = …`,
/// not `x.attr = …` or `x[k] = …`) — and its value's text.
type Assignment<'s> = (Vec<(&'s [u8], bool)>, &'s [u8]);

/// What the search follows from the start, besides the task spawners.
#[derive(Clone, Copy, Default)]
pub struct FollowedFrom<'a> {
    /// Offsets (sorted) where relevant import statements start: the names they bind from the
    /// followed modules. Their blocks are needed.
    pub relevant_imports: &'a [usize],
    /// Names followed outright.
    pub names: &'a [&'a [u8]],
}

/// The blocks of `blocks` (top-level blocks), and the methods of their classes, that a rule
/// may need; `None` when every block may be. `needed_sites` (sorted) are offsets that make
/// their block needed outright (UT010's mutation sites, `global` statements).
pub fn needed_blocks(
    source: &[u8],
    line_starts: &[usize],
    blocks: &[Range<usize>],
    needed_sites: &[usize],
    from: FollowedFrom<'_>,
) -> Option<HashSet<Range<usize>>> {
    let mut followed: HashSet<&[u8]> = TASK_SPAWNER_NAMES.iter().copied().collect();
    followed.extend(from.names.iter().copied());
    let import_starts = from.relevant_imports;
    for &start in import_starts {
        match names_bound(&source[start..statement_end(source, start)], |words| {
            words.iter().any(|word| FOLLOWED_MODULES.contains(word))
        }) {
            Some(names) => followed.extend(names),
            // `from threading import *` may bind any name: every block may matter.
            None => return None,
        }
    }
    // Module-level code is always parsed: its assignments count from the start.
    let mut known_assignments: Vec<Assignment<'_>> = super::complement(blocks.to_vec(), source.len())
        .into_iter()
        .flat_map(|range| assignments(&source[range]))
        .collect();
    let mut blocks = split_classes(source, line_starts, blocks);
    let mut to_mark: Vec<usize> = (0..blocks.len())
        .filter(|&i| {
            let pieces = &blocks[i].pieces;
            pieces.iter().any(|p| super::holds_any(p, needed_sites) || super::holds_any(p, import_starts))
        })
        .collect();
    loop {
        // Mark, with what a needed block brings: its name, its assignments, its class.
        while let Some(i) = to_mark.pop() {
            let block = &mut blocks[i];
            if block.needed {
                continue;
            }
            block.needed = true;
            followed.extend(block.name);
            let locals_stay = block.function && !block.words.contains(&b"global"[..]);
            known_assignments.extend(block.pieces.iter().flat_map(|p| assignments(&source[p.clone()])).map(
                |(mut targets, value)| {
                    if locals_stay {
                        targets.retain(|(_, binds_name)| !binds_name);
                    }
                    (targets, value)
                },
            ));
            to_mark.extend(block.class);
        }
        let mut changed = false;
        for (targets, value) in &known_assignments {
            if identifiers(value).any(|w| followed.contains(w)) {
                for (target, _) in targets {
                    changed |= followed.insert(target);
                }
            }
        }
        to_mark.extend(
            (0..blocks.len()).filter(|&i| !blocks[i].needed && blocks[i].words.iter().any(|w| followed.contains(w))),
        );
        if !changed && to_mark.is_empty() {
            break;
        }
    }
    Some(blocks.into_iter().filter(|b| b.needed).map(|b| b.range).collect())
}

/// The top-level blocks, each class followed by its methods.
fn split_classes<'s>(source: &'s [u8], line_starts: &[usize], top_level: &[Range<usize>]) -> Vec<Block<'s>> {
    let mut blocks = Vec::with_capacity(top_level.len());
    for range in top_level.iter().cloned() {
        let text = &source[range.clone()];
        let body = super::members::class_body(source, line_starts, &range);
        let members = body.as_ref().map_or(&[][..], |b| b.members.as_slice());
        let pieces =
            super::complement(members.iter().map(|m| m.start - range.start..m.end - range.start).collect(), text.len())
                .into_iter()
                .map(|p| range.start + p.start..range.start + p.end)
                .collect::<Vec<_>>();
        let class = blocks.len();
        let header = definition(text);
        blocks.push(Block {
            name: header.map(|(name, _)| name),
            function: header.is_some_and(|(_, function)| function),
            words: pieces.iter().flat_map(|p| identifiers(&source[p.clone()])).collect(),
            pieces,
            needed: false,
            class: None,
            range,
        });
        for member in body.map(|b| b.members).unwrap_or_default() {
            blocks.push(Block {
                name: None,
                function: definition(&source[member.clone()]).is_some_and(|(_, function)| function),
                words: identifiers(&source[member.clone()]).collect(),
                pieces: vec![member.clone()],
                needed: false,
                class: Some(class),
                range: member,
            });
        }
    }
    blocks
}

/// A byte of an identifier: ASCII `[0-9A-Za-z_]`, or any byte of a non-ASCII character.
#[inline]
pub(crate) fn is_identifier_byte(b: u8) -> bool {
    IDENTIFIER_BYTES[b as usize]
}

/// `word` is a whole identifier: identifier bytes, not starting with a digit.
pub(crate) fn is_identifier(word: &[u8]) -> bool {
    word.first().is_some_and(|b| !b.is_ascii_digit()) && word.iter().all(|&b| is_identifier_byte(b))
}

/// [`is_identifier_byte`] as a table: one load instead of four comparisons, in loops that
/// read whole files a byte at a time.
static IDENTIFIER_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
        b += 1;
    }
    table
};

/// The identifiers of `text` (runs of identifier bytes not starting with a digit).
pub(crate) fn identifiers(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| !is_identifier_byte(b)).filter(|w| w.first().is_some_and(|b| !b.is_ascii_digit()))
}

/// `Name` of a block starting `@decorator…`, `def Name`, `async def Name` or `class Name`,
/// and whether it is a function.
fn definition(block: &[u8]) -> Option<(&[u8], bool)> {
    let mut at = 0;
    while at < block.len() {
        let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
        let line = super::trim_blank(&block[at..end]);
        for (keyword, function) in [(&b"def "[..], true), (b"async def ", true), (b"class ", false)] {
            if let Some(rest) = line.strip_prefix(keyword) {
                let rest = super::trim_blank(rest);
                let len = rest.iter().take_while(|&&b| is_identifier_byte(b)).count();
                return (len > 0).then(|| (&rest[..len], function));
            }
        }
        at = end + 1;
    }
    None
}

/// The modules whose names the rules resolve (as in the prefilter's import pattern).
const FOLLOWED_MODULES: &[&[u8]] = &[
    b"threading",
    b"_threading_local",
    b"_thread",
    b"thread",
    b"six",
    b"concurrent",
    b"contextvars",
    b"asgiref",
    b"channels",
];

/// The names an import statement binds: `import os, threading.local as t` → `os`, `t`;
/// `from m import (x, y as z)` → `x`, `z`; of a plain `import`, only the items whose words
/// `counts` (`import os, threading` → `threading`: a relevant import's `from m` was matched for
/// its `m`). `None` when it could bind anything (`from m import *`) or does not read as an
/// import.
pub(super) fn names_bound(statement: &[u8], counts: impl Fn(&[&[u8]]) -> bool) -> Option<Vec<&[u8]>> {
    let items = items_bound(statement)?;
    Some(items.into_iter().filter(|item| item.from_import || counts(&item.words)).map(|item| item.bound).collect())
}

/// One item of an import statement (`a.b as c`, in `import a.b as c, d`).
pub(super) struct ImportItem<'s> {
    pub words: Vec<&'s [u8]>,
    /// Of a `from … import` statement.
    pub from_import: bool,
    pub bound: &'s [u8],
}

/// The items of an import statement. `None` as for [`names_bound`].
pub(super) fn items_bound(statement: &[u8]) -> Option<Vec<ImportItem<'_>>> {
    let statement = statement.trim_ascii_start().strip_prefix(b";").unwrap_or(statement).trim_ascii_start();
    let statement = statement.split(|&b| b == b';').next().unwrap_or(statement);
    let from_import = statement.starts_with(b"from");
    let names = if let Some(rest) = statement.strip_prefix(b"from") {
        let at = memchr::memmem::find_iter(rest, b"import").find(|&i| {
            !rest.get(i.wrapping_sub(1)).is_some_and(|&b| is_identifier_byte(b))
                && !rest.get(i + 6).is_some_and(|&b| is_identifier_byte(b))
        })?;
        &rest[at + 6..]
    } else {
        statement.strip_prefix(b"import")?
    };
    let mut bound = Vec::new();
    for item in names.split(|&b| b == b',') {
        if item.contains(&b'*') {
            return None;
        }
        let words: Vec<&[u8]> = identifiers(item).collect();
        let name = match words.as_slice() {
            [] => continue,
            [.., b"as", alias] => *alias,
            [first, ..] => *first,
        };
        bound.push(ImportItem { words, from_import, bound: name });
    }
    Some(bound)
}

/// Where the statement starting at `start` ends: the end of its line, or later while a
/// bracket is open or the line ends with a backslash.
pub(crate) fn statement_end(source: &[u8], start: usize) -> usize {
    let mut depth = 0i32;
    let mut i = start;
    while i < source.len() {
        match source[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'\\' if source.get(i + 1) == Some(&b'\n') => i += 1,
            b'\n' if depth <= 0 => return i,
            b'#' => {
                while i < source.len() && source[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    source.len()
}

/// The assignments of `text`, statement by statement (logical lines: brackets and backslashes
/// continue them): the last name of each target (`self._lock` → `_lock`, `a, b` → `a`, `b`,
/// `x[i]` → `x`, `x: T` → `x`) and the value's text. Strings are not tracked: a bracket or `=`
/// inside one can only merge statements or see an assignment that is not one, which makes
/// the search keep more.
fn assignments(text: &[u8]) -> Vec<Assignment<'_>> {
    let mut found = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = statement_end(text, start);
        let statement = &text[start..end];
        let mut depth = 0i32;
        let mut parts: Vec<&[u8]> = Vec::new();
        let mut part_start = 0;
        for (i, &b) in statement.iter().enumerate() {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b';' if depth == 0 => {
                    flush(&mut parts, &statement[part_start..i], &mut found);
                    part_start = i + 1;
                }
                b'=' if depth == 0
                    && statement.get(i + 1) != Some(&b'=')
                    && !matches!(statement.get(i.wrapping_sub(1)), Some(b'=' | b'!' | b'<' | b'>' | b':')) =>
                {
                    parts.push(&statement[part_start..i]);
                    part_start = i + 1;
                }
                _ => {}
            }
        }
        flush(&mut parts, &statement[part_start..], &mut found);
        start = end + 1;
    }
    found
}

/// Records the assignment whose targets are `parts` (if any: `f(x)` alone assigns nothing).
fn flush<'s>(parts: &mut Vec<&'s [u8]>, value: &'s [u8], found: &mut Vec<Assignment<'s>>) {
    if !parts.is_empty() {
        let targets = parts
            .iter()
            .flat_map(|target| target.split(|&b| b == b','))
            .flat_map(|target| {
                let binds_name = !target.contains(&b'.') && !target.contains(&b'[');
                target_names(target).map(move |name| (name, binds_name))
            })
            .collect();
        found.push((targets, value));
        parts.clear();
    }
}

/// The name a single assignment target binds or changes: the last attribute, the subscripted
/// name, the annotated name (augmented operators like `+` are dropped with the rest). A `:`
/// may start an annotation (`x: T = …`) or end a one-line compound statement's header
/// (`if ready: x = …`): both readings are returned.
fn target_names(target: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut segments = target.split(|&b| b == b':');
    let before_colon = segments.next().and_then(last_name);
    let after_last_colon = if target.contains(&b':') { segments.next_back().and_then(last_name) } else { None };
    before_colon.into_iter().chain(after_last_colon)
}

/// The last name of a target without its subscript: `self._lock` → `_lock`, `d[k]` → `d`.
fn last_name(target: &[u8]) -> Option<&[u8]> {
    let target = target.split(|&b| b == b'[').next().unwrap_or(target);
    identifiers(target).last()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(source: &str) -> String {
        let line_starts = crate::prefilter::lines::code_line_starts(source.as_bytes());
        let imports: Vec<usize> = source.match_indices("import threading").map(|(i, _)| i).collect();
        let blocks = crate::prefilter::top_level_blocks(source.as_bytes(), &line_starts);
        let from = FollowedFrom { relevant_imports: &imports, names: &[] };
        let needed = needed_blocks(source.as_bytes(), &line_starts, &blocks, &[], from).unwrap();
        let unneeded =
            crate::prefilter::unneeded_blocks(source.as_bytes(), &line_starts, blocks, |b| needed.contains(b));
        crate::prefilter::complement(unneeded, source.len()).into_iter().map(|r| &source[r]).collect()
    }

    #[test]
    fn keeps_the_blocks_that_reach_an_imported_name() {
        let source = "\
import os
import threading

_lock = (
    threading.Lock()
)
CACHE_DIR = os.getcwd()


def unrelated(path):
    return os.path.join(CACHE_DIR, path)


async def refresh():
    with _lock:
        pass


class Store:
    def __init__(self):
        self._guard = threading.RLock()


class Other:
    async def run(self):
        with self._guard:
            pass


class Sub(Store):
    pass


def spawn(tasks):
    return asyncio.gather(*tasks)


def helper():
    return 1
";
        let kept = kept(source);
        for needed in ["async def refresh", "class Store", "class Other", "class Sub(Store)", "def spawn"] {
            assert!(kept.contains(needed), "{needed} missing from:\n{kept}");
        }
        for unneeded in ["def unrelated", "def helper"] {
            assert!(!kept.contains(unneeded), "{unneeded} kept:\n{kept}");
        }
        assert!(kept.contains("import os\nimport threading") && kept.contains("CACHE_DIR = os.getcwd()"));
    }

    #[test]
    fn a_functions_own_names_stay_in_it() {
        let source = "\
import threading


def make():
    lock = threading.Lock()
    return lock


def uses_a_local_of_the_same_name(lock):
    return lock


def sets_a_global():
    global shared
    shared = threading.Lock()


def reads_the_global():
    with shared:
        pass


def fills(registry):
    registry[0] = threading.Lock()


def reads_the_registry():
    return registry[0]


class Holder:
    guard = threading.RLock()

    def locks(self):
        with self.guard:
            pass
";
        let kept = kept(source);
        for needed in ["def make", "def sets_a_global", "def reads_the_global", "def reads_the_registry", "def locks"] {
            assert!(kept.contains(needed), "{needed} missing from:\n{kept}");
        }
        assert!(!kept.contains("def uses_a_local_of_the_same_name"), "{kept}");
    }

    #[test]
    fn reads_the_names_imports_bind() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("import threading", Some(&["threading"])),
            (";import os, threading as t", Some(&["t"])),
            ("  import concurrent.futures", Some(&["concurrent"])),
            ("import django.utils.six", Some(&["django"])),
            ("from django.utils import six", Some(&["six"])),
            ("from threading import (\n    local as L,\n    Lock,\n)", Some(&["L", "Lock"])),
            ("from six.moves import _thread; x = 1", Some(&["_thread"])),
            ("from threading import *", None),
        ];
        for (statement, expected) in cases {
            let bound = names_bound(statement.as_bytes(), |words| words.iter().any(|w| FOLLOWED_MODULES.contains(w)));
            let expected: Option<Vec<&[u8]>> = expected.map(|names| names.iter().map(|n| n.as_bytes()).collect());
            assert_eq!(bound, expected, "{statement}");
        }
    }

    #[test]
    fn reads_assignment_targets() {
        let found =
            assignments(b"a = b = threading.Lock()\nself._x: Lock = make(\n  y=1,\n)\nd[k] += v\nif a == b: pass\n");
        let targets: Vec<Vec<(&[u8], bool)>> = found.iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(
            targets,
            vec![vec![(&b"a"[..], true), (b"b", true)], vec![(b"_x", false), (b"Lock", false)], vec![(b"d", false)]]
        );
        assert_eq!(found[1].1, b" make(\n  y=1,\n)");
        let found = assignments(b"a = threading.X(); b = 1\nif ready: _lock = threading.Lock()\n");
        let targets: Vec<Vec<&[u8]>> = found.iter().map(|(t, _)| t.iter().map(|(name, _)| *name).collect()).collect();
        assert_eq!(targets, vec![vec![&b"a"[..]], vec![b"b"], vec![b"ready", b"_lock"]]);
        assert_eq!(found[0].1, b" threading.X()");
    }
}
