//! `--diff-base REF`: the lines added or changed since a git ref, so that a scan reports
//! only findings on them (a pull request's own lines).
//!
//! Read with the `git` command-line tool rather than a Rust git library: a diff against the
//! working tree needs the index, rename detection and `.gitignore` handling, which `git` has
//! and which would more than double this crate's dependencies; and `--diff-base` only makes
//! sense where a git checkout (hence `git`) exists: CI and pre-commit.

use std::{
    collections::HashMap,
    ops::RangeInclusive,
    path::Path,
    process::{Command, Stdio},
};

/// Changed lines per file, paths relative to the scanned directory, `/`-separated.
#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<String, Changed>,
}

#[derive(Debug)]
enum Changed {
    /// A file git does not track yet: all of it is new.
    Whole,
    Lines(Vec<RangeInclusive<u32>>),
}

impl ChangedLines {
    /// The changes of the working tree of `dir` (a directory in a git repository) since
    /// `git_ref`.
    pub fn since(dir: &Path, git_ref: &str) -> Result<Self, String> {
        if git_ref.starts_with('-') {
            return Err(format!("`{git_ref}` is not a git ref"));
        }
        let commit = format!("{git_ref}^{{commit}}");
        git(dir, &["rev-parse", "--verify", "--quiet", "--end-of-options", &commit])
            .map_err(|_| format!("`{git_ref}` is not a commit of the git repository at {}", dir.display()))?;
        let diff = git(
            dir,
            &[
                "-c",
                "core.quotepath=off",
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--unified=0",
                "--relative",
                "--find-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                git_ref,
                "--",
            ],
        )?;
        let mut changed = Self::from_diff(&diff);
        let untracked = git(dir, &["ls-files", "--others", "--exclude-standard", "-z"])?;
        for path in untracked.split('\0').filter(|p| !p.is_empty()) {
            changed.files.insert(path.to_owned(), Changed::Whole);
        }
        Ok(changed)
    }

    /// Reads a unified diff with zero lines of context.
    pub fn from_diff(diff: &str) -> Self {
        let mut files = HashMap::new();
        let mut current: Option<(String, Vec<RangeInclusive<u32>>)> = None;
        for line in diff.lines() {
            if let Some(target) = line.strip_prefix("+++ ") {
                if let Some((path, lines)) = current.take() {
                    files.insert(path, Changed::Lines(lines));
                }
                current = unquote(target).strip_prefix("b/").map(|path| (path.to_owned(), Vec::new()));
            } else if let (Some(hunk), Some((_, lines))) = (line.strip_prefix("@@ "), current.as_mut()) {
                if let Some(range) = added_lines(hunk) {
                    lines.push(range);
                }
            }
        }
        if let Some((path, lines)) = current {
            files.insert(path, Changed::Lines(lines));
        }
        Self { files }
    }

    /// True when any of lines `first..=last` of `path` is new since the ref.
    pub fn touches(&self, path: &str, first: u32, last: u32) -> bool {
        match self.files.get(path) {
            None => false,
            Some(Changed::Whole) => true,
            Some(Changed::Lines(ranges)) => ranges.iter().any(|r| *r.start() <= last && first <= *r.end()),
        }
    }
}

/// The new side of a hunk header (`-12,3 +14,5 @@ …`): lines 14 to 18; none for a deletion.
fn added_lines(hunk: &str) -> Option<RangeInclusive<u32>> {
    let new_side = hunk.split_whitespace().find_map(|part| part.strip_prefix('+'))?;
    let (start, count) = match new_side.split_once(',') {
        Some((start, count)) => (start.parse::<u32>().ok()?, count.parse::<u32>().ok()?),
        None => (new_side.parse::<u32>().ok()?, 1),
    };
    (count > 0).then(|| start..=start + count - 1)
}

/// A path as git prints it: C-quoted when it holds `"`, `\` or control characters.
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&d @ b'0'..=b'7') = chars.peek() {
                        value = value * 8 + u32::from(d - b'0');
                        chars.next();
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("--diff-base runs `git`, which could not be started: {err}"))?;
    if !output.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    String::from_utf8(output.stdout).map_err(|_| "git printed a diff that is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_added_lines_from_hunks() {
        let diff = "diff --git a/pkg/a.py b/pkg/a.py\n--- a/pkg/a.py\n+++ b/pkg/a.py\n@@ -3,0 +4,2 @@ def f():\n+x\n+y\n@@ -10 +12 @@\n-old\n+new\n@@ -20,2 +21,0 @@\n-gone\n-gone\ndiff --git a/old.py b/old.py\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n+++ \"b/sp\\303\\251cial \\\"q\\\".py\"\n@@ -1 +1 @@\n";
        let changed = ChangedLines::from_diff(diff);
        assert!(changed.touches("pkg/a.py", 4, 4) && changed.touches("pkg/a.py", 5, 5));
        assert!(changed.touches("pkg/a.py", 1, 4), "a multi-line finding ending on a new line");
        assert!(changed.touches("pkg/a.py", 12, 12));
        assert!(!changed.touches("pkg/a.py", 6, 11) && !changed.touches("pkg/a.py", 21, 21));
        assert!(!changed.touches("old.py", 1, 1));
        assert!(changed.touches("spécial \"q\".py", 1, 1), "{changed:?}");
        assert!(!changed.touches("other.py", 1, 1));
    }

    #[test]
    fn hunk_headers() {
        assert_eq!(added_lines("-1,2 +3,4 @@"), Some(3..=6));
        assert_eq!(added_lines("-1 +7 @@ fn"), Some(7..=7));
        assert_eq!(added_lines("-5,2 +4,0 @@"), None);
        assert_eq!(added_lines("garbage"), None);
    }

    #[test]
    fn refs_that_look_like_options_are_refused() {
        assert!(ChangedLines::since(Path::new("."), "--output=/tmp/x").is_err());
    }
}
