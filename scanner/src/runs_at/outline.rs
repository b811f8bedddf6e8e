//! A module's outline read from its text: every `def` and `class` with where its block
//! starts and ends, its decorators, its parameters and (of a class) its bases. Reading it needs
//! no parse: the call graph ([`super`]) outlines every module of a package that may call a
//! finding's function, most of which the scan never parsed.

use crate::prefilter::{code_line_starts, followed::is_identifier_byte};

/// One definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Def {
    pub name: String,
    /// Where its name is written in its header.
    pub name_at: usize,
    /// `module.Class.method`.
    pub qualname: String,
    pub is_class: bool,
    /// Byte range of its whole block (decorators, header and body).
    pub block: std::ops::Range<usize>,
    /// Byte range of its decorators (empty when it has none).
    pub decorators: std::ops::Range<usize>,
    /// Each decorator's expression, without the `@` (`receiver(post_save)`, `app.task`).
    pub decorator_texts: Vec<String>,
    /// A function's parameter names; a class's bases, as written (`View, LoginRequiredMixin`).
    pub signature: String,
    /// The definition it is nested in.
    pub parent: Option<usize>,
    /// A function nested in a function that calls one of that function's parameters, or is
    /// decorated `@wraps(...)`: a decorator's wrapper, which runs in place of the function
    /// it decorates (not a decorator factory's inner decorator, which runs once per use).
    pub wraps: bool,
}

impl Def {
    pub fn parameters(&self) -> impl Iterator<Item = &str> {
        self.signature.split(',').map(|p| {
            let p = p.trim().trim_start_matches('*');
            let end = p.find(|c: char| c == ':' || c == '=' || c.is_whitespace()).unwrap_or(p.len());
            &p[..end]
        })
    }

    /// The decorators' callee names, last segment only (`app.task(bind=True)` → `task`).
    pub fn decorator_names(&self) -> impl Iterator<Item = &str> {
        self.decorator_texts.iter().map(|text| {
            let callee = text.split('(').next().unwrap_or(text).trim();
            callee.rsplit('.').next().unwrap_or(callee)
        })
    }
}

/// A module's definitions, in source order (a parent before what it holds).
#[derive(Clone, Debug, Default)]
pub struct Outline {
    pub defs: Vec<Def>,
    /// Where its `import` and `from … import` statements are, in order.
    pub imports: Vec<std::ops::Range<usize>>,
}

impl Outline {
    pub fn read(source: &[u8], module: &str) -> Outline {
        let mut defs: Vec<Def> = Vec::new();
        let mut imports = Vec::new();
        // Open definitions: (index, indentation of their header).
        let mut open: Vec<(usize, usize)> = Vec::new();
        let mut pending_decorators: Option<(usize, Vec<String>)> = None;
        let starts = code_line_starts(source);
        let mut next_statement = 0usize;
        for &line in &starts {
            if line < next_statement {
                continue; // inside a statement spanning lines
            }
            let indent = source[line..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            let at = line + indent;
            let end = statement_end(source, at);
            next_statement = end;
            let text = &source[at..end];
            if text.is_empty() || text[0] == b'\n' || text[0] == b'\r' || text[0] == b'#' {
                continue;
            }
            // Every statement at or left of an open header's indentation closes it.
            while let Some(&(index, header_indent)) = open.last() {
                if indent > header_indent {
                    break;
                }
                defs[index].block.end = trim_end(source, line);
                open.pop();
            }
            if text.starts_with(b"import ") || text.starts_with(b"from ") {
                imports.push(at..end);
            }
            if text[0] == b'@' {
                let decorator = String::from_utf8_lossy(&text[1..]).trim().to_owned();
                pending_decorators.get_or_insert_with(|| (line, Vec::new())).1.push(decorator);
                continue;
            }
            let header = text.strip_prefix(b"async ").unwrap_or(text);
            let (is_class, rest) = if let Some(rest) = header.strip_prefix(b"def ") {
                (false, rest)
            } else if let Some(rest) = header.strip_prefix(b"class ") {
                (true, rest)
            } else {
                pending_decorators = None;
                continue;
            };
            let rest = trim_start(rest);
            let len = rest.iter().take_while(|&&b| is_identifier_byte(b)).count();
            if len == 0 {
                pending_decorators = None;
                continue;
            }
            let name = String::from_utf8_lossy(&rest[..len]).into_owned();
            // `rest` is a tail of `text`, which starts at `at`.
            let name_at = at + text.len() - rest.len();
            let signature = bracketed(&rest[len..]);
            let parent = open.last().map(|&(index, _)| index);
            let qualname = match parent {
                Some(p) => format!("{}.{name}", defs[p].qualname),
                None if module.is_empty() => name.clone(),
                None => format!("{module}.{name}"),
            };
            let (decorators, decorator_texts) = match pending_decorators.take() {
                Some((from, texts)) => (from..line, texts),
                None => (line..line, Vec::new()),
            };
            defs.push(Def {
                name,
                name_at,
                qualname,
                is_class,
                block: decorators.start..source.len(),
                decorators,
                decorator_texts,
                signature,
                parent,
                wraps: false,
            });
            open.push((defs.len() - 1, indent));
        }
        let mut outline = Outline { defs, imports };
        outline.mark_wrappers(source);
        outline
    }

    /// Sets [`Def::wraps`].
    fn mark_wrappers(&mut self, source: &[u8]) {
        for i in 0..self.defs.len() {
            let Some(parent) = self.defs[i].parent.filter(|p| !self.defs[*p].is_class) else { continue };
            let body = &source[self.defs[i].block.clone()];
            let decorated_wraps = self.defs[i].decorator_names().any(|name| name == "wraps");
            let calls_parameter =
                self.defs[parent].parameters().filter(|p| !p.is_empty() && *p != "self" && *p != "cls").any(|p| {
                    memchr::memmem::find_iter(body, p.as_bytes()).any(|at| {
                        let before_ok = at == 0 || !is_identifier_byte(body[at - 1]) && body[at - 1] != b'.';
                        before_ok && body[at + p.len()..].iter().find(|b| !matches!(b, b' ' | b'\t')) == Some(&b'(')
                    })
                });
            self.defs[i].wraps = decorated_wraps || calls_parameter;
        }
    }

    /// The innermost definition whose block holds `offset` (`None`: module-level code).
    pub fn innermost(&self, offset: usize) -> Option<usize> {
        // Definitions are in source order and nest: the last one starting before `offset`
        // that still holds it, walking out through its parents.
        let mut candidate = self.defs.partition_point(|d| d.block.start <= offset).checked_sub(1)?;
        loop {
            if self.defs[candidate].block.contains(&offset) {
                return Some(candidate);
            }
            candidate = self.defs[candidate].parent?;
        }
    }

    pub fn by_qualname(&self, qualname: &str) -> Option<usize> {
        self.defs.iter().position(|d| d.qualname == qualname)
    }
}

/// Where the logical line starting at `start` ends: at a newline outside brackets, strings
/// and comments, not continued by a backslash. (A string holding a bracket, `"{"`, must not
/// leave the rest of the module inside one statement.)
fn statement_end(source: &[u8], start: usize) -> usize {
    let mut depth = 0i32;
    let mut i = start;
    while i < source.len() {
        match source[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'\\' => i += 1,
            b'\n' if depth <= 0 => return i,
            b'#' => {
                i = memchr::memchr(b'\n', &source[i..]).map_or(source.len(), |n| i + n);
                continue;
            }
            quote @ (b'\'' | b'"') => {
                let triple = source[i..].starts_with(&[quote; 3]);
                i += if triple { 3 } else { 1 };
                while i < source.len() {
                    match source[i] {
                        b'\\' => i += 2,
                        b'\n' if !triple => break, // an unclosed string ends with its line
                        q if q == quote && (!triple || source[i..].starts_with(&[quote; 3])) => {
                            i += if triple { 3 } else { 1 };
                            break;
                        }
                        _ => i += 1,
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    source.len()
}

/// The text between the brackets that open `rest` (`(self, request)` → `self, request`).
fn bracketed(rest: &[u8]) -> String {
    let rest = trim_start(rest);
    if rest.first() != Some(&b'(') {
        return String::new();
    }
    let mut depth = 0;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return String::from_utf8_lossy(&rest[1..i]).split_whitespace().collect::<Vec<_>>().join(" ");
                }
            }
            _ => {}
        }
    }
    String::new()
}

fn trim_start(text: &[u8]) -> &[u8] {
    let blank = text.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    &text[blank..]
}

/// The end of the last non-blank line before `line` (a block ends there).
fn trim_end(source: &[u8], line: usize) -> usize {
    let mut end = line;
    while end > 0 && source[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_nest_with_their_decorators_and_signatures() {
        let source = b"import x\nFORMAT = '{l_bar'\n\n@app.task(bind=True)\ndef work(self, n):\n    return n\n\nclass View(\n    Base, Mixin):\n    def get(self, request,\n            *args):\n        def inner():\n            pass\n        return inner\n\n    x = 1\n\ndef after(): pass\n";
        let outline = Outline::read(source, "m");
        let names: Vec<&str> = outline.defs.iter().map(|d| d.qualname.as_str()).collect();
        assert_eq!(names, ["m.work", "m.View", "m.View.get", "m.View.get.inner", "m.after"]);
        let work = &outline.defs[0];
        assert_eq!(work.decorator_names().collect::<Vec<_>>(), ["task"]);
        assert_eq!(work.parameters().collect::<Vec<_>>(), ["self", "n"]);
        assert_eq!(outline.defs[1].signature, "Base, Mixin");
        assert_eq!(outline.defs[2].parameters().collect::<Vec<_>>(), ["self", "request", "args"]);
        let inner_at = memchr::memmem::find(source, b"pass").unwrap();
        assert_eq!(outline.innermost(inner_at), Some(3));
        let x_at = memchr::memmem::find(source, b"x = 1").unwrap();
        assert_eq!(outline.innermost(x_at), Some(1), "a class attribute is in the class");
        assert_eq!(outline.innermost(0), None);
        let after_at = memchr::memmem::find(source, b"after").unwrap();
        assert_eq!(outline.innermost(after_at), Some(4));
    }
}
