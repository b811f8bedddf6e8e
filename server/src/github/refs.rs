//! Names that come from outside (a requirements pin's `@<ref>`, a push's commit, a path in a
//! repository) and go into GitHub's URLs. Each is checked against git's own grammar for a
//! reference (`git check-ref-format`) and percent-encoded before it enters a URL, so no
//! `..` segment or encoded separator can make a request for another repository's resource
//! (behind anything that resolves dot-segments, `/repos/acme/lib/tarball/x/../../../private`
//! is another repository's archive, fetched with the server's token).

/// Why a reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reference:?} is not a git reference: {reason}")]
pub struct BadReference {
    pub reference: String,
    pub reason: &'static str,
}

/// The longest reference accepted (git allows more; GitHub's branch names stay far below).
const MAX_REF_CHARS: usize = 255;

/// Checks `reference` (a branch, tag or commit sha; `HEAD`) against `git check-ref-format`'s
/// rules, and refuses `%` as well: a reference is put in a URL percent-encoded, so a `%`
/// in it is someone's attempt at an encoded separator.
pub fn check(reference: &str) -> Result<&str, BadReference> {
    let bad = |reason| Err(BadReference { reference: reference.chars().take(80).collect(), reason });
    if reference.is_empty() {
        return bad("it is empty");
    }
    if reference.chars().count() > MAX_REF_CHARS {
        return bad("it is too long");
    }
    if reference == "@" {
        return bad("`@` alone is not a reference");
    }
    if let Some(c) = reference.chars().find(|c| c.is_control() || " ~^:?*[\\%".contains(*c)) {
        return match c {
            '%' => bad("it holds `%` (an encoded character)"),
            _ => bad("it holds a character git does not allow in references"),
        };
    }
    if reference.contains("..") {
        return bad("it holds `..`");
    }
    if reference.contains("@{") {
        return bad("it holds `@{`");
    }
    if reference.starts_with('/') || reference.ends_with('/') || reference.contains("//") {
        return bad("it has an empty path segment");
    }
    if reference.ends_with('.') {
        return bad("it ends with `.`");
    }
    for segment in reference.split('/') {
        if segment.starts_with('.') {
            return bad("a segment starts with `.`");
        }
        if segment.ends_with(".lock") {
            return bad("a segment ends with `.lock`");
        }
    }
    Ok(reference)
}

/// `owner/name` as GitHub spells repositories: two plain segments (letters, digits, `-`,
/// `_`, `.`, not starting with `.`), so nothing else can enter a URL through it.
pub fn check_repository(repository: &str) -> Result<&str, BadReference> {
    let plain = |s: &str| {
        !s.is_empty() && !s.starts_with('.') && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match repository.split_once('/') {
        Some((owner, name)) if plain(owner) && plain(name) => Ok(repository),
        _ => Err(BadReference { reference: repository.chars().take(80).collect(), reason: "not owner/name" }),
    }
}

/// A checked reference as it goes in a URL path or query: anything but unreserved
/// characters and `/` (GitHub reads `feature/x` as one branch) percent-encoded.
pub fn encode(reference: &str) -> Result<String, BadReference> {
    Ok(percent_encoded(check(reference)?, b'/'))
}

/// A file's path in a repository as it goes in a URL: each segment percent-encoded (`~`
/// kept); no empty, `.` or `..` segment.
pub fn encode_path(path: &str) -> Result<String, BadReference> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(BadReference {
            reference: path.chars().take(80).collect(),
            reason: "not a plain path in a repository",
        });
    }
    Ok(segments.into_iter().map(|segment| percent_encoded(segment, b'~')).collect::<Vec<_>>().join("/"))
}

/// `text` with every byte but letters, digits, `-`, `_`, `.` and `keep` percent-encoded.
fn percent_encoded(text: &str, keep: u8) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b if b == keep => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_that_git_accepts_are_kept() {
        for reference in [
            "main",
            "HEAD",
            "feature/async-safe",
            "v2.1.0",
            "0123456789abcdef0123456789abcdef01234567",
            "release@2024",
            "a+b",
        ] {
            assert_eq!(check(reference), Ok(reference), "{reference}");
        }
        assert_eq!(encode("feature/a+b").unwrap(), "feature/a%2Bb");
        assert_eq!(encode_path("requirements/edx/base ~1.txt").unwrap(), "requirements/edx/base%20~1.txt");
        assert!(encode_path("requirements/../secret").is_err() && encode_path("a//b").is_err());
    }

    #[test]
    fn dot_segments_encoded_separators_and_git_grammar_are_refused() {
        for reference in [
            "x/../../../private/tarball/main",
            "..",
            "../main",
            "main/..",
            "x/./y",
            ".hidden",
            "x%2F..%2F..%2Fprivate",
            "%2e%2e",
            "a//b",
            "/main",
            "main/",
            "main.",
            "main.lock",
            "a@{1}",
            "@",
            "has space",
            "a~1",
            "a^",
            "a:b",
            "a?b",
            "a*",
            "a[b",
            "a\\b",
            "tab\there",
            "",
        ] {
            assert!(check(reference).is_err(), "{reference:?} was accepted");
            assert!(encode(reference).is_err(), "{reference:?} was encoded");
        }
        assert!(check(&"a".repeat(300)).is_err());
    }
}
