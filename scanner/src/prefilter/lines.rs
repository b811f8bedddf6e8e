//! The lines of a file that start outside a string: the block splits read lines, and a line of
//! a multi-line string (a docstring's column-0 text, a `'''` message) is not one to read.

/// Offsets where lines start, leaving out those that start inside a string (a triple-quoted
/// one, or one continued by a backslash). Strings are found by a plain tokenizer: comments,
/// string prefixes and escapes are understood; an f-string nesting the same quote (3.12) can
/// end a string early (what that can cost is in the prefilter's doc).
pub fn code_line_starts(source: &[u8]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(source.len() / 32);
    let mut line_from = 0; // lines starting at or after this offset are outside strings
    let mut at = 0;
    while let Some(found) = memchr::memchr3(b'#', b'\'', b'"', &source[at..]) {
        let i = at + found;
        let end = if source[i] == b'#' {
            memchr::memchr(b'\n', &source[i..]).map_or(source.len(), |n| i + n)
        } else {
            string_end(source, i)
        };
        // Lines starting in (i, end) are inside the string.
        push_line_starts(source, line_from, i, &mut starts);
        line_from = end;
        at = end;
    }
    push_line_starts(source, line_from, source.len(), &mut starts);
    starts
}

/// Pushes the offsets in `from..=to` where a line starts (at 0 or after a newline), but not
/// the end of the text.
fn push_line_starts(source: &[u8], from: usize, to: usize, starts: &mut Vec<usize>) {
    if from >= source.len() {
        return;
    }
    if from == 0 || source[from - 1] == b'\n' {
        starts.push(from);
    }
    let to = to.min(source.len() - 1);
    if from < to {
        starts.extend(memchr::memchr_iter(b'\n', &source[from..to]).map(|n| from + n + 1));
    }
}

/// The offset just past the string whose quote is at `open`.
fn string_end(source: &[u8], open: usize) -> usize {
    let quote = source[open];
    let triple = source.get(open..open + 3) == Some(&[quote; 3][..]);
    let mut i = open + if triple { 3 } else { 1 };
    // Jumps between the bytes that can end the string or escape one that would.
    while i < source.len() {
        let rest = &source[i..];
        let found =
            if triple { memchr::memchr2(quote, b'\\', rest) } else { memchr::memchr3(quote, b'\\', b'\n', rest) };
        let Some(at) = found.map(|n| i + n) else { return source.len() };
        match source[at] {
            b'\\' => i = at + 2,
            b'\n' => return at,
            _ if !triple => return at + 1,
            _ if source.get(at..at + 3) == Some(&[quote; 3][..]) => return at + 3,
            _ => i = at + 1,
        }
    }
    source.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(source: &str) -> Vec<&str> {
        let starts = code_line_starts(source.as_bytes());
        starts.iter().map(|&s| source[s..].lines().next().unwrap_or("")).collect()
    }

    #[test]
    fn leaves_out_lines_inside_strings() {
        let source = "\
x = 1  # it's
def f():
    \"\"\"Docs:
def not_code():
\"\"\"
    s = '''a
''' + \"b\\\"\" + 'c\\
def continued'
class A: pass
";
        assert_eq!(lines(source), ["x = 1  # it's", "def f():", "    \"\"\"Docs:", "    s = '''a", "class A: pass"]);
        assert_eq!(lines("a\n\nb"), ["a", "", "b"]);
        assert_eq!(lines("s = '''\nopen"), ["s = '''"]);
    }
}
