//! Python comments, found by a small lexer that knows where strings are: `# noqa` inside a
//! string or docstring is text, not a directive.

/// A comment: the 1-based line it is on and its text from the `#` to the end of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment<'s> {
    pub line: u32,
    pub text: &'s str,
}

/// Every comment of `src`, in order. Never fails: an unterminated string ends at the end of
/// its line (single-quoted) or of the file (triple-quoted), as the tokenizer would give up.
///
/// Python 3.12 f-strings may reuse their own quote inside a replacement field
/// (`f"{d["k"]}"`); such a string is read as two, which can only matter when a `#` follows
/// on the same line.
pub fn comments(src: &[u8]) -> Vec<Comment<'_>> {
    let mut found = Vec::new();
    // Lines are counted only up to each comment found (SIMD counts), and the scan jumps
    // from one `#` or quote to the next: most of a file is neither.
    let (mut line, mut counted_to) = (1u32, 0usize);
    let mut i = 0;
    while let Some(at) = memchr::memchr3(b'#', b'\'', b'"', &src[i..]) {
        let at = i + at;
        match src[at] {
            b'#' => {
                let end = memchr::memchr(b'\n', &src[at..]).map_or(src.len(), |n| at + n);
                line += memchr::memchr_iter(b'\n', &src[counted_to..at]).count() as u32;
                counted_to = at;
                let text = std::str::from_utf8(&src[at..end]).unwrap_or("").trim_end_matches('\r');
                found.push(Comment { line, text });
                i = end;
            }
            quote => {
                let triple = src.get(at + 1) == Some(&quote) && src.get(at + 2) == Some(&quote);
                i = if triple {
                    skip_triple_quoted(src, at + 3, quote)
                } else {
                    skip_single_quoted(src, at + 1, quote)
                };
            }
        }
        if i >= src.len() {
            break;
        }
    }
    found
}

/// The offset after a `'…'` or `"…"` string whose body starts at `i`. A backslash escapes
/// the next byte in raw strings too (`r"\""` is one string), and a backslash-newline
/// continues the string on the next line; an unescaped newline ends an unterminated one.
fn skip_single_quoted(src: &[u8], mut i: usize, quote: u8) -> usize {
    while let Some(at) = memchr::memchr3(quote, b'\\', b'\n', &src[i.min(src.len())..]) {
        let at = i + at;
        match src[at] {
            b'\\' => i = at + 2,
            b'\n' => return at, // unterminated: the newline is the lexer's
            _ => return at + 1,
        }
    }
    src.len()
}

/// The offset after a triple-quoted string whose body starts at `i`.
fn skip_triple_quoted(src: &[u8], mut i: usize, quote: u8) -> usize {
    while let Some(at) = memchr::memchr2(quote, b'\\', &src[i.min(src.len())..]) {
        let at = i + at;
        if src[at] == b'\\' {
            i = at + 2;
        } else if src.get(at + 1) == Some(&quote) && src.get(at + 2) == Some(&quote) {
            return at + 3;
        } else {
            i = at + 1;
        }
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(u32, &str)> {
        comments(src.as_bytes()).into_iter().map(|c| (c.line, c.text)).collect()
    }

    #[test]
    fn finds_comments_with_their_lines() {
        let src = "x = 1  # one\n# two\r\ny = '#not'  # three\n";
        assert_eq!(texts(src), [(1, "# one"), (2, "# two"), (3, "# three")]);
    }

    #[test]
    fn hashes_inside_strings_are_not_comments() {
        let src = r##"a = "# noqa"
b = '''
# noqa: UT001
''' # real
c = r"\"# no" # after raw
d = "unterminated # still a string?
e = 1 # next line
f = """never closed # noqa
"##;
        assert_eq!(texts(src), [(4, "# real"), (5, "# after raw"), (7, "# next line")]);
    }

    #[test]
    fn continued_strings_keep_line_numbers() {
        let src = "s = 'a\\\nb' # on two\nt = \"\"\"x\\\ny\"\"\" # on four\n";
        assert_eq!(texts(src), [(2, "# on two"), (4, "# on four")]);
    }

    #[test]
    fn any_bytes_are_lexed_without_panicking() {
        for src in [&b"'"[..], b"\"\"\"", b"#", b"\\", b"'\\", b"\"\"\"\\", b"# \xff\n#x"] {
            let _ = comments(src);
        }
    }
}
