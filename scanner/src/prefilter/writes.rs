//! Where rule UT013 may report: a write of an attribute of a shared object inside a
//! definition — `NAME.attr = …`, `NAME.attr += …`, `del NAME.attr`, `NAME.attr[k] = …`,
//! `NAME.attr.append(…)` — whose `NAME` is a module-level `def`/`class` of the file, a name
//! an import statement binds, `cls`, `self.__class__` or `type(self)`, or any name inside a
//! top-level definition that itself holds a nested `def` (a decorator's wrapper writing on
//! the function it wraps). Loose like the rest of the prefilter: text in strings counts.

use std::ops::Range;

use regex::bytes::Regex;

use super::followed::{is_identifier_byte, names_bound, statement_end};
use crate::analysis::MUTATING_METHODS;

/// An indented statement changing an attribute chain, or an in-place method called on one
/// anywhere (`return cls.items.pop()`): group-free, so the fast engine finds the matches;
/// the name is read back from each match.
const ATTRIBUTE_WRITE: &str = r"(?m-u)(?:(?:^|;)[ \t]+(?:del[ \t]+[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*(?:[ \t]*\.[ \t]*[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*)+|(?:[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*[ \t]*=[ \t]*)*[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*(?:[ \t]*\.[ \t]*[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*)+[ \t]*(?:\[[^\n]*\][ \t]*)?(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=[^=])|(?:^|[^0-9A-Za-z_\x80-\xFF.])[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*(?:[ \t]*\.[ \t]*[A-Za-z_\x80-\xFF][0-9A-Za-z_\x80-\xFF]*)+[ \t]*\.[ \t]*(?:append|extend|insert|update|setdefault|pop|popitem|clear|add|discard|remove|appendleft|extendleft|popleft)[ \t]*\()";

/// Any import statement.
const IMPORT_STATEMENT: &str = r"(?m-u)(?:^|;)[ \t]*(?:from[ \t]+[.0-9A-Za-z_\x80-\xFF]+[ \t]+)?import[ \t(\\]";

pub struct Writes {
    attribute_write: Regex,
    import_statement: Regex,
}

impl Writes {
    pub fn new() -> Self {
        const _: () = assert!(MUTATING_METHODS.len() == 14, "keep ATTRIBUTE_WRITE's methods in step");
        Writes {
            attribute_write: Regex::new(ATTRIBUTE_WRITE).expect("valid pattern"),
            import_statement: Regex::new(IMPORT_STATEMENT).expect("valid pattern"),
        }
    }

    /// Offsets of the possible UT013 writes of `source`, in the top-level `blocks`.
    pub fn sites(&self, source: &[u8], blocks: &[Range<usize>]) -> Vec<usize> {
        if blocks.is_empty() || memchr::memchr(b'.', source).is_none() {
            return Vec::new();
        }
        let mut sites = Vec::new();
        // (computed on the first candidate write: most files have none)
        let mut shared: Option<Option<Vec<&[u8]>>> = None;
        let mut classmethod_firsts: Option<Vec<&[u8]>> = None;
        for found in self.attribute_write.find_iter(source) {
            let Some(block) = blocks.iter().find(|b| b.contains(&found.start())) else { continue };
            let text = found.as_bytes();
            // (a method call's match starts with the byte before its name)
            let text = match text.first() {
                Some(&b) if !is_identifier_byte(b) && !b.is_ascii_whitespace() && b != b';' => &text[1..],
                _ => text,
            };
            let statement = text.trim_ascii_start().strip_prefix(b";").unwrap_or(text).trim_ascii_start();
            let statement = statement.strip_prefix(b"del").map(<[u8]>::trim_ascii_start).unwrap_or(statement);
            // `a = b = X.attr[k] = v`: the written chain follows the plain targets; and in
            // `self.f = X.attr = v` it is a later one.
            let mut hit = None;
            // (the match is a suffix of the statement's start: read on to its end)
            let start = found.end() - statement.len();
            for target in targets(&source[start..statement_end(source, start)]) {
                let name_len = target.iter().position(|&b| !is_identifier_byte(b)).unwrap_or(target.len());
                let (name, rest) = target.split_at(name_len);
                let known = match name {
                    b"cls" => true,
                    _ if classmethod_firsts
                        .get_or_insert_with(|| classmethod_first_parameters(source))
                        .contains(&name) =>
                    {
                        true
                    }
                    b"self" => rest.trim_ascii_start().starts_with(b".__class__"),
                    _ => {
                        let shared = shared.get_or_insert_with(|| self.shared_names(source, blocks));
                        shared.as_ref().is_none_or(|names| names.contains(&name))
                            || decorator_parameters(&source[block.clone()]).is_some_and(|params| params.contains(&name))
                    }
                };
                if known {
                    hit = Some(name);
                    break;
                }
            }
            if let Some(name) = hit {
                sites.push(found.start());
                // The rule must see the definition too, to know the name is a module-level one.
                if let Some(defining) = blocks.iter().find(|b| definition_name(&source[(*b).clone()]) == Some(name)) {
                    sites.push(defining.start);
                }
            }
        }
        // `type(self).attr = …` has no name of its own.
        sites.extend(
            memchr::memmem::find_iter(source, b"type(self).").filter(|at| blocks.iter().any(|b| b.contains(at))),
        );
        sites.sort_unstable();
        sites.dedup();
        sites
    }

    /// The names of the module-level definitions and every name an import binds; `None`
    /// when a star import may bind any name.
    fn shared_names<'s>(&self, source: &'s [u8], blocks: &[Range<usize>]) -> Option<Vec<&'s [u8]>> {
        let mut names: Vec<&[u8]> = blocks.iter().filter_map(|b| definition_name(&source[b.clone()])).collect();
        for found in self.import_statement.find_iter(source) {
            let statement = &source[found.start()..statement_end(source, found.start())];
            // `from x import *` binds names unknown here: every writer counts.
            names.extend(names_bound(statement, |_| true)?);
        }
        Some(names)
    }
}

/// The targets of the statement starting `statement` that may be written chains: each
/// target of an assignment (`a = self.f = X.attr[k] = v` → `a`, `self.f`, `X.attr[k]`), or
/// else the statement itself (`X.attr += 1`, `X.attr.append(v)`, the name of `del X.attr`).
fn targets(statement: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut rest = statement;
    loop {
        // A chain: names, dots and one subscript, then `=` (not `==`).
        let mut i = 0;
        while i < rest.len() && (is_identifier_byte(rest[i]) || matches!(rest[i], b'.' | b' ' | b'\t')) {
            i += 1;
        }
        if rest.get(i) == Some(&b'[') {
            match memchr::memchr(b']', &rest[i..]) {
                Some(close) => i += close + 1,
                None => break,
            }
        }
        match rest[i..].trim_ascii_start().strip_prefix(b"=") {
            Some(value) if i > 0 && !value.starts_with(b"=") => {
                found.push(rest);
                rest = value.trim_ascii_start();
            }
            _ => break,
        }
    }
    if found.is_empty() {
        found.push(statement);
    }
    found
}

/// The first parameter of every `@classmethod` (the class, whatever its name: `cls`, or
/// `self` in some test suites).
fn classmethod_first_parameters(source: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    for at in memchr::memmem::find_iter(source, b"@classmethod") {
        let after = &source[at..];
        let Some(def) = memchr::memmem::find(after, b"def ") else { continue };
        let Some(open) = memchr::memchr(b'(', &after[def..]) else { continue };
        let params = after[def + open + 1..].trim_ascii_start();
        let len = params.iter().position(|&b| !is_identifier_byte(b)).unwrap_or(params.len());
        if len > 0 {
            names.push(&params[..len]);
        }
    }
    names
}

/// The name a top-level `def`/`class` block defines (after its decorators).
fn definition_name(block: &[u8]) -> Option<&[u8]> {
    for line in block.split(|&b| b == b'\n') {
        let line = line.trim_ascii_start();
        let rest = line
            .strip_prefix(b"async def ")
            .or_else(|| line.strip_prefix(b"def "))
            .or_else(|| line.strip_prefix(b"class "));
        if let Some(rest) = rest {
            let rest = rest.trim_ascii_start();
            let end = rest.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80))?;
            return Some(&rest[..end]);
        }
    }
    None
}

/// The parameters of a top-level function (not a class) holding a nested, indented `def`:
/// possibly a decorator, whose wrapper may write on the function it wraps.
fn decorator_parameters(block: &[u8]) -> Option<Vec<&[u8]>> {
    let header = block
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii_start)
        .find(|line| !line.starts_with(b"@") && !line.is_empty())?;
    if !(header.starts_with(b"def ") || header.starts_with(b"async def ")) {
        return None;
    }
    let nested = memchr::memmem::find_iter(block, b"def ").any(|at| at > 0 && matches!(block[at - 1], b' ' | b'\t'));
    if !nested {
        return None;
    }
    // The header's line (a parameter list over several lines: its first line's names).
    let open = memchr::memchr(b'(', header)?;
    let close = memchr::memchr(b')', &header[open..]).map_or(header.len(), |n| open + n);
    Some(
        header[open + 1..close]
            .split(|&b| b == b',')
            .filter_map(|param| {
                let param = param.trim_ascii();
                let param = &param[param.iter().take_while(|&&b| b == b'*').count()..];
                let len = param.iter().position(|&b| !is_identifier_byte(b)).unwrap_or(param.len());
                (len > 0).then(|| &param[..len])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites_of(src: &str) -> Vec<usize> {
        let source = src.as_bytes();
        let blocks = super::super::top_level_blocks(source, &super::super::lines::code_line_starts(source));
        Writes::new().sites(source, &blocks)
    }

    #[test]
    fn writes_of_shared_names_are_sites() {
        assert!(
            !sites_of("import os\n\ndef view(request):\n    os.environ['USER_ID'] = str(request.user.id)\n").is_empty()
        );
        assert!(!sites_of("class R:\n    x = {}\n\ndef f(k):\n    R.x[k] = 1\n").is_empty());
        assert!(!sites_of("def f():\n    del f.state\n").is_empty());
        assert!(!sites_of("class C:\n    def m(self):\n        type(self).n += 1\n").is_empty());
        assert!(sites_of("def f(obj):\n    obj.x = 1\n    self.y = 2\n").is_empty(), "a parameter of a plain function");
        assert!(sites_of("import os\nos.environ['X'] = '1'\n").is_empty(), "module-level code");
        assert!(sites_of("def f():\n    return os.environ == x\n").is_empty());
        assert!(
            !sites_of("class R:\n    @classmethod\n    def m(klass, k):\n        x = klass.reg[k] = 1\n").is_empty()
        );
        assert!(!sites_of("import a\n\ndef f():\n    v = a.b.pop(1)\n").is_empty());
        // A later target of a chained assignment (celery's `self._handle = sys.stdin = …`).
        assert!(!sites_of("import sys\n\nclass R:\n    def m(self):\n        self.h = sys.stdin = make()\n").is_empty());
        assert_eq!(
            targets(b"a = self.f = X.attr[k] = v"),
            [&b"a = self.f = X.attr[k] = v"[..], b"self.f = X.attr[k] = v", b"X.attr[k] = v"]
        );
        assert_eq!(targets(b"X.attr += 1"), [&b"X.attr += 1"[..]]);
        assert!(!sites_of(
            "class T:\n    @classmethod\n    def p(cls):\n        return cls.items.pop() if cls.items else None\n"
        )
        .is_empty());
    }
}
