//! The methods of a top-level `class` block, so the parser may leave out the methods no rule
//! needs as it leaves out top-level blocks: in a large class holding one lock, only the
//! methods that reach the lock matter.
//!
//! Like the top-level split, this reads lines (those starting outside strings), not syntax: a
//! member starts on a line at the class body's indentation opening `def`, `async def` or a
//! decorator, and runs until the next line at that indentation that is not a comment or a
//! closing bracket. Should a split still come out wrong, the parse of what is kept fails and
//! the file is parsed whole.

use std::ops::Range;

/// The body of a class block.
pub struct ClassBody {
    /// The methods (with their decorators), in source order.
    pub members: Vec<Range<usize>>,
    /// Whether the body holds a statement besides the methods (a docstring, an attribute, a
    /// nested class): without one, leaving out every method would leave an empty body.
    pub has_other_statements: bool,
}

/// The body of `block` when it is a class whose body holds at least one method.
pub fn class_body(source: &[u8], line_starts: &[usize], block: &Range<usize>) -> Option<ClassBody> {
    let text = &source[block.clone()];
    let first = line_starts.partition_point(|&at| at < block.start);
    let last = line_starts.partition_point(|&at| at < block.end);
    let block_lines = line_starts[first..last].iter().map(|&at| at - block.start);
    let header_start = block_lines.clone().find(|&at| text[at..].starts_with(b"class "))?;
    let body_start = header_end(text, header_start)?;
    let indent = body_indent(text, block_lines.clone().filter(|&at| at >= body_start))?;
    let lines =
        block_lines.filter(|&at| at >= body_start).filter_map(|at| Some((at, text[at..].strip_prefix(indent)?)));
    let opens_method = |line: &[u8]| line.starts_with(b"def ") || line.starts_with(b"async def ");
    let (members, has_other_statements) = super::definition_blocks(lines, text.len(), opens_method);
    if members.is_empty() {
        return None;
    }
    let members = members.into_iter().map(|m| block.start + m.start..block.start + m.end).collect();
    Some(ClassBody { members, has_other_statements })
}

/// Where the body starts after the header starting at `start` (`class Name(\n  Base,\n):`):
/// the line after the one where the brackets close. `None` for a one-line class
/// (`class A: pass`), whose body has no methods to leave out.
fn header_end(text: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut colon_last = false;
    let mut in_comment = false;
    for (i, &b) in text.iter().enumerate().skip(start) {
        if in_comment && b != b'\n' {
            continue;
        }
        in_comment = false;
        match b {
            b'#' => {
                in_comment = true;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'\n' if depth <= 0 => return colon_last.then_some(i + 1),
            b':' => {
                colon_last = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\\' => continue,
            _ => {}
        }
        colon_last = false;
    }
    None
}

/// The indentation of the body's first statement line (not blank, not a comment), given the
/// body's `lines` (where they start in `text`).
fn body_indent(text: &[u8], mut lines: impl Iterator<Item = usize>) -> Option<&[u8]> {
    lines.find_map(|at| {
        let line = &text[at..];
        let width = line.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        match line.get(width) {
            None | Some(b'\r' | b'\n' | b'#') => None,
            Some(_) if width == 0 => Some(None),
            Some(_) => Some(Some(&line[..width])),
        }
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(source: &str) -> Option<(Vec<&str>, bool)> {
        let line_starts = super::super::lines::code_line_starts(source.as_bytes());
        let body = class_body(source.as_bytes(), &line_starts, &(0..source.len()))?;
        Some((body.members.iter().map(|m| &source[m.clone()]).collect(), body.has_other_statements))
    }

    #[test]
    fn finds_the_methods_of_a_class() {
        let source = "\
@dataclass
class Store(
    Base,
):
    \"\"\"Docs.\"\"\"

    @property
    # a comment
    def lock(self):
        return self._lock

    def put(
        self, k,
    ) -> None:
        self._data[k] = 1
    # trailing comment

    async def get(self): return 1
    LIMIT = 3
";
        let (methods, others) = members(source).expect("a class with methods");
        assert_eq!(
            methods,
            [
                "    @property\n    # a comment\n    def lock(self):\n        return self._lock\n\n",
                "    def put(\n        self, k,\n    ) -> None:\n        self._data[k] = 1\n    # trailing comment\n\n",
                "    async def get(self): return 1\n",
            ]
        );
        assert!(others, "the docstring and LIMIT");
        let (methods, others) = members("class A:  # (a comment)\n\tdef f(self):\n\t\tpass\n").unwrap();
        assert_eq!((methods, others), (vec!["\tdef f(self):\n\t\tpass\n"], false));
    }

    #[test]
    fn has_no_members_without_methods_in_the_body() {
        assert!(members("class A: pass\n").is_none());
        assert!(members("class A:\n    x = 1\n    class Meta:\n        def f(self): pass\n").is_none());
        assert!(members("def f():\n    def g():\n        pass\n").is_none());
    }
}
