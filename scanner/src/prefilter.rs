//! A text prefilter that decides, before parsing, that a file cannot have any finding.
//!
//! Parsing dominates scan time, and most files of a dependency set touch none of the
//! constructs the rules look for. Every finding needs something visible in the raw text:
//!
//! - UT001–UT009, UT012, UT100: an import statement naming `threading`, `_thread`,
//!   `concurrent`, `contextvars`, `asgiref`, `six` or `channels` (all resolution goes through
//!   the module's imports), or a `run_in_executor` call (UT006 needs no import);
//! - UT010: a `global` statement, or a module-level assignment of a dict/list/set/... whose
//!   name is later followed by `[` or an in-place method (`.append`, `.update`, ...);
//! - UT011: the top-level package name of an API in the input index (imports name it).
//!
//! The conditions are necessary, never sufficient, and deliberately loose (any `\w+` counts
//! as a name; an indented assignment counts unless the nearest column-0 line above it opens a
//! `def` or `class`), so skipping a file changes no result. (The one theoretical miss: a
//! module-level block whose multi-line string has a column-0 line starting with `def `.) The benchmark verifies it on the whole
//! openedx-platform dependency set (`--no-prefilter` gives byte-identical output).

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

use crate::{analysis::MUTATING_METHODS, api_index::ApiIndex};

/// UT006's `loop.run_in_executor(...)` needs no import.
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

/// An assignment of a mutable container; group 1 is `;` when the statement follows another on
/// its line, group 2 the indentation, group 3 the assigned name (the last of a chain). An
/// annotation may span lines inside its brackets (`X: dict[\n  str, int\n] = {}`).
const MUTABLE_ASSIGNMENT: &str = r"(?m-u)(^|;)([ \t]*)(?:[0-9A-Za-z_\x80-\xFF]+[ \t]*=[ \t]*)*([0-9A-Za-z_\x80-\xFF]+)[ \t]*(?::[^=\n]*(?:\[[^=]*\])?[^=\n]*)?=[ \t\\\r\n]*(?:[\[{]|(?:[0-9A-Za-z_\x80-\xFF]+\.)*(?:dict|list|set|defaultdict|OrderedDict|Counter|deque|WeakValueDictionary|WeakKeyDictionary|WeakSet|ChainMap)[ \t]*\()";

pub struct Prefilter {
    needles: AhoCorasick,
    relevant_import: Regex,
    global_statement: Regex,
    mutable_assignment: Regex,
}

impl Prefilter {
    pub fn new(api_index: &ApiIndex) -> Self {
        let mut needles: Vec<String> = NEEDLES.iter().map(|s| (*s).to_owned()).collect();
        needles.extend(api_index.apis.keys().filter_map(|q| q.split('.').next()).map(str::to_owned));
        needles.sort();
        needles.dedup();
        Self {
            needles: AhoCorasick::new(&needles).expect("plain substrings always build"),
            relevant_import: Regex::new(RELEVANT_IMPORT).expect("valid pattern"),
            global_statement: Regex::new(GLOBAL_STATEMENT).expect("valid pattern"),
            mutable_assignment: Regex::new(MUTABLE_ASSIGNMENT).expect("valid pattern"),
        }
    }

    /// False only when no rule can report anything in `source`.
    pub fn may_have_findings(&self, source: &[u8]) -> bool {
        self.needles.is_match(source)
            || self.relevant_import.is_match(source)
            || self.global_statement.is_match(source)
            || self.may_mutate_a_global(source)
    }

    fn may_mutate_a_global(&self, source: &[u8]) -> bool {
        for caps in self.mutable_assignment.captures_iter(source) {
            let (Some(whole), Some(name)) = (caps.get(0), caps.get(3)) else { continue };
            let after_semicolon = caps.get(1).is_some_and(|m| m.as_bytes() == b";");
            let indented = caps.get(2).is_some_and(|m| !m.as_bytes().is_empty());
            if indented && !after_semicolon && inside_definition(source, whole.start()) {
                continue;
            }
            if is_mutated_in_a_function(source, name.as_bytes()) {
                return true;
            }
        }
        false
    }
}

/// True when the nearest line above `offset` that starts in column 0 (ignoring blank and
/// comment lines) opens a `def`, `class` or decorator: an indented statement below it is in
/// a function or class body, not at module level. Any other column-0 line (a module-level
/// `if`/`try`, or text of a multi-line string) counts as "maybe module level".
fn inside_definition(source: &[u8], offset: usize) -> bool {
    let mut end = source[..offset].iter().rposition(|&b| b == b'\n').unwrap_or(0);
    while end > 0 {
        let start = source[..end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = &source[start..end];
        end = start.saturating_sub(1);
        match line.first() {
            None | Some(b' ' | b'\t' | b'#' | b'\r') => continue,
            _ => {
                return line.starts_with(b"def ")
                    || line.starts_with(b"async def ")
                    || line.starts_with(b"class ")
                    || line.starts_with(b"@");
            }
        }
    }
    false
}

/// True when `name` is followed by a subscript that may be assigned to or deleted, or by
/// `.<in-place method>`, on an indented line (function bodies are indented) or on a line
/// defining a one-line function.
fn is_mutated_in_a_function(source: &[u8], name: &[u8]) -> bool {
    let finder = memchr::memmem::Finder::new(name);
    for start in finder.find_iter(source) {
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
            continue;
        }
        let line_start = source[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = &source[line_start..];
        if matches!(line.first(), Some(b' ' | b'\t')) || line.starts_with(b"def ") || line.starts_with(b"async def ") {
            return true;
        }
    }
    false
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
            "# global settings are read once\nimport asyncio\n",
            "\"\"\"Thread-safe helpers.\"\"\"\nimport os\n",
        ] {
            assert!(!filter.may_have_findings(src.as_bytes()), "{src:?}");
        }
    }
}
