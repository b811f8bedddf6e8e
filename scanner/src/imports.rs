//! The import index: for each module of a target, the modules it imports, read from its text
//! (so files the prefilter never parses have theirs too) — for the server's question "is this
//! dependency's code reached from the platform?".
//!
//! Read: `import a.b`, `from a.b import c` (also inside functions, `try` and `if` blocks, after
//! `;`), relative imports made absolute, `importlib.import_module("a.b")` and
//! `__import__("a.b")` with a literal name, and the dotted strings of module-level settings
//! lists (`INSTALLED_APPS = [...]`, `MIDDLEWARE += (...)`: an UPPER_CASE name given a literal
//! list or tuple), which is how Django loads apps and middleware. An imported name may be a
//! module or a name in one (`from a.b import c`): both `a.b` and `a.b.c` are recorded, and
//! the reader of the index resolves each to the longest module it knows. The text is read
//! loosely: lines inside strings are skipped, but a string that merely looks like a settings
//! entry counts — reachability is an over-approximation anyway (imported ≠ called).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prefilter::{
    code_line_starts,
    followed::{is_identifier, is_identifier_byte, statement_end},
};

/// Version of the import index's JSON form.
pub const IMPORT_INDEX_VERSION: u32 = 1;

/// A target's modules and what each imports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportIndex {
    pub version: u32,
    /// By dotted module name.
    pub modules: BTreeMap<String, ModuleImports>,
}

impl Default for ImportIndex {
    fn default() -> Self {
        ImportIndex { version: IMPORT_INDEX_VERSION, modules: BTreeMap::new() }
    }
}

impl ImportIndex {
    /// The top-level modules the target provides (`django`, `crum`), its tests left out.
    pub fn provides(&self) -> Vec<&str> {
        let mut tops: Vec<&str> =
            self.modules.iter().filter(|(_, entry)| !entry.test).filter_map(|(m, _)| m.split('.').next()).collect();
        tops.dedup();
        tops
    }
}

/// One module's entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleImports {
    /// Its file, as the scan's findings name it.
    #[serde(default)]
    pub path: String,
    /// Absolute dotted names, sorted, without duplicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// A test module (its imports reach nothing a deployment runs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

/// The names `source` (module `module`; `is_package_init` for an `__init__.py`) imports.
pub fn imports_of(source: &[u8], module: &str, is_package_init: bool) -> Vec<String> {
    let base = if is_package_init { module } else { module.rsplit_once('.').map_or("", |(p, _)| p) };
    let mut names: Vec<String> = Vec::new();
    let has = |word: &[u8]| memchr::memmem::find(source, word).is_some();
    if has(b"import") {
        for &line in &code_line_starts(source) {
            let mut at = line;
            // Each statement of the line: `x = 1; import y`.
            loop {
                at += source[at..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                let end = statement_end(source, at);
                let statement = &source[at..end];
                let piece_end = statement_piece_end(statement);
                read_import(&statement[..piece_end], base, &mut names);
                if piece_end < statement.len() && statement[piece_end] == b';' {
                    at += piece_end + 1;
                } else {
                    break;
                }
            }
        }
        for call in [&b"import_module("[..], b"__import__("] {
            for found in memchr::memmem::find_iter(source, call) {
                if found > 0 && is_identifier_byte(source[found - 1]) && call[0] != b'_' {
                    continue;
                }
                if let Some(name) = string_literal(&source[found + call.len()..]).filter(|n| is_dotted(n)) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    settings_lists(source, &mut names);
    names.retain(|name| name != module && !name.is_empty());
    names.sort_unstable();
    names.dedup();
    names
}

/// Lines of `source` importing a module whose name is computed (`importlib.import_module(name)`,
/// `__import__(path + ".x")`): what they import is not followed (reachability, chains), and a
/// scan says so. A literal name is followed ([`imports_of`]).
pub fn computed_imports(source: &[u8]) -> Vec<u32> {
    let mut lines = Vec::new();
    for call in [&b"import_module("[..], b"__import__("] {
        for found in memchr::memmem::find_iter(source, call) {
            if found > 0 && is_identifier_byte(source[found - 1]) && call[0] != b'_' {
                continue;
            }
            let argument = source[found + call.len()..].trim_ascii_start();
            if argument.first().is_some_and(|b| matches!(b, b')' | b'"' | b'\'')) {
                continue; // a literal (followed), or no argument
            }
            // Not in a comment or a string of its own line.
            let line_start = memchr::memrchr(b'\n', &source[..found]).map_or(0, |i| i + 1);
            let before = &source[line_start..found];
            if before.contains(&b'#') || before.iter().filter(|&&b| b == b'"' || b == b'\'').count() % 2 == 1 {
                continue;
            }
            lines.push(memchr::memchr_iter(b'\n', &source[..found]).count() as u32 + 1);
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Where the first statement of `statement` ends: at a `;` outside brackets and strings.
fn statement_piece_end(statement: &[u8]) -> usize {
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    for (i, &b) in statement.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b';') if depth <= 0 => return i,
            (None, b'#') => return i,
            _ => {}
        }
    }
    statement.len()
}

/// `import a.b as c, d` / `from .x import (y, z)`: the names it imports, pushed to `names`.
fn read_import(statement: &[u8], base: &str, names: &mut Vec<String>) {
    let keyword_then = |keyword: &[u8]| {
        statement
            .strip_prefix(keyword)
            .filter(|rest| rest.first().is_some_and(|b| matches!(b, b' ' | b'\t' | b'(' | b'\\' | b'.')))
    };
    if let Some(rest) = keyword_then(b"import") {
        for item in items(rest) {
            if let Some(name) = item.first() {
                names.push(name.clone());
            }
        }
    } else if let Some(rest) = keyword_then(b"from") {
        let Some(at) = memchr::memmem::find_iter(rest, b"import").find(|&i| {
            !rest.get(i.wrapping_sub(1)).is_some_and(|&b| is_identifier_byte(b))
                && !rest.get(i + 6).is_some_and(|&b| is_identifier_byte(b))
        }) else {
            return;
        };
        let from = String::from_utf8_lossy(&rest[..at]).split_whitespace().collect::<String>();
        let Some(from) = absolute(&from, base) else { return };
        for item in items(&rest[at + 6..]) {
            match item.first().map(String::as_str) {
                Some("*") | None => {}
                Some(name) if from.is_empty() => names.push(name.to_owned()),
                Some(name) => names.push(format!("{from}.{name}")),
            }
        }
        names.push(from);
    }
}

/// The comma-separated items of an import's name list, each as its words (`a.b as c` →
/// `a.b`, `as`, `c`; `*` → `*`).
fn items(list: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(list);
    text.split(',')
        .map(|item| {
            item.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '\\'))
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|words| {
            words.first().is_some_and(|w| w == "*" || w.split('.').all(|part| is_identifier(part.as_bytes())))
        })
        .collect()
}

/// `.utils` from package `pkg.cache` → `pkg.cache.utils`; `..` → `pkg`; absolute names stay.
/// `None` when the dots climb above the top-level package.
fn absolute(name: &str, base: &str) -> Option<String> {
    let dots = name.bytes().take_while(|&b| b == b'.').count();
    if dots == 0 {
        return Some(name.to_owned());
    }
    let mut parts: Vec<&str> = base.split('.').filter(|p| !p.is_empty()).collect();
    for _ in 1..dots {
        parts.pop()?;
    }
    if parts.is_empty() {
        return None;
    }
    let rest = &name[dots..];
    if !rest.is_empty() {
        parts.push(rest);
    }
    Some(parts.join("."))
}

/// The dotted strings of module-level `UPPER_CASE = [...]` / `+= (...)` literals.
fn settings_lists(source: &[u8], names: &mut Vec<String>) {
    // Quick test: a module-level upper-case assignment of a bracket somewhere.
    if memchr::memchr2(b'[', b'(', source).is_none() {
        return;
    }
    for found in memchr::memchr_iter(b'\n', source).map(|i| i + 1).chain(std::iter::once(0)) {
        let line = &source[found.min(source.len())..];
        let name_len = line.iter().take_while(|&&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_').count();
        if name_len < 2 || !line[0].is_ascii_uppercase() {
            continue;
        }
        let rest = line[name_len..].trim_ascii_start();
        let Some(value) = rest.strip_prefix(b"+=").or_else(|| rest.strip_prefix(b"=")) else { continue };
        let value = value.trim_ascii_start();
        if !matches!(value.first(), Some(b'[' | b'(')) {
            continue;
        }
        let start = found + (line.len() - value.len());
        let end = statement_end(source, start);
        let mut text = &source[start..end];
        while let Some(open) = memchr::memchr2(b'"', b'\'', text) {
            let quote = text[open];
            let Some(close) = memchr::memchr(quote, &text[open + 1..]) else { break };
            let literal = &text[open + 1..open + 1 + close];
            if let Ok(literal) = std::str::from_utf8(literal) {
                if is_dotted(literal) {
                    names.push(literal.to_owned());
                }
            }
            text = &text[open + close + 2..];
        }
    }
}

/// The contents of a string literal at the start of `text` (after blanks): `"a.b"`.
fn string_literal(text: &[u8]) -> Option<&str> {
    let text = text.trim_ascii_start();
    let quote = *text.first().filter(|q| matches!(q, b'"' | b'\''))?;
    let close = memchr::memchr(quote, &text[1..])?;
    std::str::from_utf8(&text[1..1 + close]).ok()
}

/// `a`, `a.b.c`: identifiers joined by dots.
fn is_dotted(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|part| is_identifier(part.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(source: &str, module: &str) -> Vec<String> {
        imports_of(source.as_bytes(), module, false)
    }

    #[test]
    fn reads_every_import_form() {
        let source = "\
import os, a.b as ab
from c.d import (e,
    f as g)
from . import sibling
from ..parent import thing
from .sub.mod import *
x = 1; import late  # and a comment: import nothing
try:
    import optional
except ImportError:
    optional = None

def lazy():
    from crum import get_current_request
    return get_current_request()

\"\"\"
import not_an_import
\"\"\"
mod = importlib.import_module('plugins.loader')
other = __import__(\"legacy\")
dynamic = importlib.import_module(name)
";
        assert_eq!(
            of(source, "pkg.sub.here"),
            [
                "a.b",
                "c.d",
                "c.d.e",
                "c.d.f",
                "crum",
                "crum.get_current_request",
                "late",
                "legacy",
                "optional",
                "os",
                "pkg.parent",
                "pkg.parent.thing",
                "pkg.sub",
                "pkg.sub.sibling",
                "pkg.sub.sub.mod",
                "plugins.loader",
            ]
        );
    }

    #[test]
    fn a_package_init_is_its_own_base_and_the_top_cannot_be_climbed() {
        assert_eq!(
            imports_of(b"from .utils import RequestCache\n", "pkg.cache", true),
            ["pkg.cache.utils", "pkg.cache.utils.RequestCache"]
        );
        assert!(of("from ... import x\n", "pkg.mod").is_empty());
    }

    #[test]
    fn reads_settings_lists() {
        let source = "\
INSTALLED_APPS = [
    'django.contrib.admin',
    \"crum\",
    'not a module',
]
MIDDLEWARE += (\"crum.CurrentRequestUserMiddleware\",)
DEBUG = True
lower = ['not.settings']
    NESTED = ['indented.is_not_module_level']
";
        assert_eq!(of(source, "lms.settings"), ["crum", "crum.CurrentRequestUserMiddleware", "django.contrib.admin"]);
    }

    #[test]
    fn the_index_names_what_a_target_provides() {
        let mut index = ImportIndex::default();
        for module in ["crum", "crum.signals", "tests.test_x"] {
            let test = module.starts_with("tests");
            index.modules.insert(module.into(), ModuleImports { test, ..Default::default() });
        }
        assert_eq!(index.provides(), ["crum"]);
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(
            json,
            r#"{"version":1,"modules":{"crum":{"path":""},"crum.signals":{"path":""},"tests.test_x":{"path":"","test":true}}}"#
        );
    }
}

#[cfg(test)]
mod computed_import_tests {
    use super::computed_imports;

    #[test]
    fn imports_by_a_computed_name_are_found_and_literal_ones_are_not() {
        let source = b"import importlib\nm = importlib.import_module('a.b')\nn = importlib.import_module(name)\n# import_module(x)\nx = __import__(base + '.mod')\ns = 'import_module(y)'\n";
        assert_eq!(computed_imports(source), [3, 5]);
    }
}
