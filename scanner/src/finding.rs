//! What a scan reports: findings with stable fingerprints, and per-file outcomes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// SARIF `partialFingerprints` key carrying [`Finding::fingerprint`] (baselines match on it).
pub const FINGERPRINT_KEY: &str = "unthread/v1";
/// SARIF `partialFingerprints` key carrying [`Finding::content_fingerprint`].
pub const CONTENT_FINGERPRINT_KEY: &str = "unthreadContent/v1";

/// A 1-based line and column (columns count Unicode scalar values, as SARIF expects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// One occurrence of a rule in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// Relative to the scan root, `/`-separated.
    pub path: String,
    pub start: Position,
    pub end: Position,
    /// The enclosing definition, `package.module.Class.method`, or the module itself.
    pub symbol: String,
    pub message: String,
    /// The source line the finding starts on, without its line break.
    pub line_text: String,
    /// The finding's lines with a few lines around them, as the scan read them (a page can
    /// show the code without the repository at hand); `None` from a producer that gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<SourceContext>,
    /// Stable identity: survives lines inserted above, reformatting and unrelated edits.
    pub fingerprint: String,
    /// Identity without the path and module, used to follow a finding across a file rename.
    pub content_fingerprint: String,
    /// True when the construct is only reached through an import inside try/except.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// Set when a `# noqa` / `# unthread: ignore` comment marks the finding as intended: it
    /// is kept (SARIF reports it as suppressed, the server as triaged) but not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// The change that removes it, when it is mechanical (`crate::fix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Other lines that make the hazard, reported at one place (UT010's writes to the global
    /// it reports at its definition): a change there is a change of the finding
    /// (`--diff-base`), and SARIF lists them as related locations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_on_lines: Vec<u32>,
    /// When the code holding it runs, found by walking its package's calls back to an entry
    /// point (`crate::runs_at`); `None` when not analysed (an imported result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_at: Option<RunsAtPath>,
}

/// Lines of a file around a finding: [`SourceContext::LINES_AROUND`] before its first line and
/// after its last, at most [`SourceContext::MAX_LINES`] in all, each cut to
/// [`SourceContext::MAX_LINE_CHARS`] characters (marked `…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceContext {
    /// The 1-based number of the first of `lines`.
    pub start_line: u32,
    pub lines: Vec<String>,
}

impl SourceContext {
    pub const LINES_AROUND: u32 = 5;
    pub const MAX_LINES: usize = 20;
    pub const MAX_LINE_CHARS: usize = 200;

    /// The context of lines `first..=last` (1-based) of `src`, whose lines start at
    /// `line_starts` (built once per file: reading lines from the top for each finding made
    /// a file of 20,000 findings quadratic). A finding spanning more lines than fit keeps its
    /// first ones and the lines before it.
    pub fn around(src: &[u8], line_starts: &[usize], first: u32, last: u32) -> Self {
        let start_line = first.saturating_sub(Self::LINES_AROUND).max(1);
        let end_line = last.saturating_add(Self::LINES_AROUND);
        let lines = (start_line..=end_line).map_while(|line| {
            let start = *line_starts.get(line as usize - 1)?;
            let end = line_starts.get(line as usize).map_or(src.len(), |&next| next - 1);
            let line = &src[start..end.max(start)];
            Some(String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)))
        });
        Self::bounded(start_line, lines)
    }

    /// Where each line of `src` starts, for [`SourceContext::around`].
    pub fn line_starts(src: &[u8]) -> Vec<usize> {
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', src).map(|i| i + 1)).collect()
    }

    /// A context from lines another producer gave (a SARIF `contextRegion`), held to the
    /// same bounds.
    pub fn bounded<S: AsRef<str>>(start_line: u32, lines: impl IntoIterator<Item = S>) -> Self {
        let lines = lines
            .into_iter()
            .take(Self::MAX_LINES)
            .map(|line| {
                let line = line.as_ref();
                let line = line.strip_suffix('\r').unwrap_or(line);
                match line.char_indices().nth(Self::MAX_LINE_CHARS) {
                    Some((cut, _)) => format!("{}…", &line[..cut]),
                    None => line.to_owned(),
                }
            })
            .collect();
        Self { start_line: start_line.max(1), lines }
    }

    /// The number of the last line.
    pub fn end_line(&self) -> u32 {
        self.start_line.saturating_add(self.lines.len().saturating_sub(1) as u32)
    }
}

/// When code runs: what the product counts as a hazard depends on it (a write made while a
/// process starts is seen by no request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunsAt {
    /// Reached from a request entry point: a view, middleware, a signal receiver, a template
    /// tag, an XBlock handler.
    Request,
    /// Reached from a Celery task (worker processes; tasks run concurrently too).
    Worker,
    /// Only reached from import time, `AppConfig.ready`, settings, commands.
    StartUp,
    /// Only reached from tests.
    Tests,
    /// Reached from no entry point of its package: called from outside it (a library's API),
    /// or through calls the graph cannot follow.
    Unknown,
}

impl RunsAt {
    pub const ALL: [RunsAt; 5] = [RunsAt::Request, RunsAt::Worker, RunsAt::StartUp, RunsAt::Tests, RunsAt::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            RunsAt::Request => "request",
            RunsAt::Worker => "worker",
            RunsAt::StartUp => "start-up",
            RunsAt::Tests => "tests",
            RunsAt::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<RunsAt> {
        RunsAt::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Code that runs while requests are served (or may: unknown).
    pub fn at_request_time(self) -> bool {
        matches!(self, RunsAt::Request | RunsAt::Worker | RunsAt::Unknown)
    }
}

/// When a finding's code runs, and the shortest way there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsAtPath {
    pub at: RunsAt,
    /// What the entry point is (`a view`, `a Celery task`, `called at import`, `no caller
    /// in its package`).
    pub why: String,
    /// Qualified names from the entry point to the finding's function; empty for module-level
    /// code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    /// When it is unknown: the functions (or classes) on the way that nothing in the package
    /// calls — a library's API, called from outside it (at most [`MAX_OPEN_ENDS`]). Other
    /// targets' scans say when they call them ([`crate::runs_at::calls_out`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_ends: Vec<String>,
}

/// Open ends a finding's path keeps at most.
pub const MAX_OPEN_ENDS: usize = 12;

/// A call that code makes to a name imported from another top-level package
/// (`edx_ace.ace.send`), when that code runs at request time, in a worker, or at a time its
/// own package cannot tell (a library's function called from outside: then with its
/// `open_ends`, which other scans' calls may resolve): the most urgent one of each name in a
/// scan, with its own path. Another target's finding that nothing in its own package calls
/// runs when these calls do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOut {
    /// The name called, as the caller's imports spell it.
    pub name: String,
    pub at: RunsAt,
    /// The caller's entry point (`a view (it takes the request)`).
    pub why: String,
    /// From the entry point to the calling function.
    pub path: Vec<String>,
    /// Where the call is.
    pub file: String,
    pub line: u32,
    /// When `at` is unknown: the functions on the way that nothing in the package calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_ends: Vec<String>,
}

/// The parts of a finding its fingerprints are computed from.
pub struct FingerprintInput<'a> {
    pub rule: &'a str,
    pub path: &'a str,
    pub module: &'a str,
    pub symbol: &'a str,
    /// The statement (or compound statement header) holding the finding, as written.
    pub statement: &'a str,
    /// How many earlier findings of this rule in this symbol share the same statement text.
    pub occurrence: usize,
}

impl FingerprintInput<'_> {
    /// `(full, content)` fingerprints, 32 hex digits each.
    pub fn fingerprints(&self) -> (String, String) {
        let statement = normalise_statement(self.statement);
        let local_symbol =
            self.symbol.strip_prefix(self.module).map(|rest| rest.trim_start_matches('.')).unwrap_or(self.symbol);
        let full = digest(&[self.rule, self.path, self.symbol, &statement, &self.occurrence.to_string()]);
        let content = digest(&[self.rule, local_symbol, &statement, &self.occurrence.to_string()]);
        (full, content)
    }
}

/// 32 hex digits of SHA-256 over length-prefixed `parts`: the fingerprint function, shared
/// with importers that must fingerprint results of other tools the same way.
pub fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Statement text with formatting removed: comments, all whitespace, and the trailing commas
/// and parentheses formatters add or remove when they re-wrap a statement.
pub fn normalise_statement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    out.push('"');
                    quote = None;
                } else {
                    out.push(c);
                    if c == '\\' {
                        if let Some(next) = chars.next() {
                            out.push(next);
                        }
                    }
                }
            }
            None => match c {
                '#' => {
                    // A comment runs to the end of the line.
                    for next in chars.by_ref() {
                        if next == '\n' {
                            break;
                        }
                    }
                }
                '\'' | '"' => {
                    // Formatters normalise quote style; so do we.
                    quote = Some(c);
                    out.push('"');
                }
                c if c.is_whitespace() || c == '\\' => {}
                _ => out.push(c),
            },
        }
    }
    // `f(a, b,)` and `f(a, b)` are the same call.
    let mut cleaned = String::with_capacity(out.len());
    let bytes: Vec<char> = out.chars().collect();
    for (i, &c) in bytes.iter().enumerate() {
        if c == ',' && matches!(bytes.get(i + 1), Some(')' | ']' | '}')) {
            continue;
        }
        cleaned.push(c);
    }
    cleaned
}

/// Why a file yielded no findings, or only some.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum FileProblem {
    /// Parsed with syntax errors: findings come from the parts that parsed. Only the parts a
    /// rule could report on are parsed (see `prefilter`): an error elsewhere, where no finding
    /// can be, is not seen and not reported.
    PartiallyParsed,
    /// Not read at all.
    TooLarge(u64),
    NotUtf8,
    Binary,
    Unreadable(String),
    /// A compiled extension module (`.so`, `.pyd`) with no Python source beside it: what it
    /// does is not analysed.
    ExtensionModule,
}

impl std::fmt::Display for FileProblem {
    /// What a person reads: in SARIF notifications and on the server's scan pages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::PartiallyParsed => f.write_str("syntax errors: findings come from the parts that parsed"),
            FileProblem::TooLarge(size) => write!(f, "not scanned: {size} bytes is over the size limit"),
            FileProblem::NotUtf8 => f.write_str("not scanned: not valid UTF-8"),
            FileProblem::Binary => f.write_str("not scanned: binary content"),
            FileProblem::Unreadable(why) => write!(f, "not scanned: {why}"),
            FileProblem::ExtensionModule => {
                f.write_str("not analysed: a compiled extension module, no Python source to read")
            }
        }
    }
}

impl FileProblem {
    /// True when the file was not scanned at all, so its old findings must not be fixed.
    pub fn is_unread(&self) -> bool {
        !matches!(self, FileProblem::PartiallyParsed)
    }
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks under ASGI: must be migrated.
    Error,
    /// Likely a problem; needs a look.
    Warning,
    /// Informational (already migrated code).
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Why a finding is not reported: the suppression comment that covers it (read by
/// `crate::suppression`, which re-exports this type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The text after ` -- ` in an `unthread: ignore` directive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The line of the directive.
    pub line: u32,
}

impl Suppression {
    /// Why the finding is set aside, for people (SARIF's justification, the server's
    /// triage reason): the comment's own reason, or which comment.
    pub fn reason(&self) -> String {
        match &self.justification {
            Some(reason) => reason.clone(),
            None => format!("suppressed in the source by `{}` on line {}", self.kind.directive(), self.line),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    Noqa,
    Ignore,
    IgnoreFile,
}

impl SuppressionKind {
    pub fn directive(self) -> &'static str {
        match self {
            SuppressionKind::Noqa => "# noqa",
            SuppressionKind::Ignore => "# unthread: ignore",
            SuppressionKind::IgnoreFile => "# unthread: ignore-file",
        }
    }
}

/// Whether a fix keeps the program's behaviour (`crate::fix` applies fixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps behaviour: applied by `--fix`.
    Safe,
    /// May change behaviour (that can be the point, as when a thread's target is given the
    /// caller's context): applied only with `--unsafe-fixes`.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// Replaces the bytes `start..end` of the file with `content`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub content: String,
    /// Where `start` and `end` are, for people and SARIF (1-based, columns in characters).
    pub start_position: Position,
    pub end_position: Position,
}

/// What a rule offers to change for a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, in a sentence ("Remove the unused `threading` import").
    pub message: String,
    pub applicability: Applicability,
    /// Non-overlapping, in any order.
    pub edits: Vec<Edit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_layout_comments_and_quote_style() {
        let a = normalise_statement("_local = threading.local()  # per thread");
        let b = normalise_statement("_local = threading.local(\n)\n");
        assert_eq!(a, b);
        assert_eq!(normalise_statement("f(a, b,)"), normalise_statement("f(\n    a,\n    b\n)"));
        assert_eq!(normalise_statement("x = 'a b'"), normalise_statement("x = \"a b\""));
        assert_ne!(normalise_statement("x = 'ab'"), normalise_statement("x = 'a b'"), "string contents count");
    }

    #[test]
    fn fingerprints_change_with_identity_not_position() {
        let base = FingerprintInput {
            rule: "UT001",
            path: "pkg/mod.py",
            module: "pkg.mod",
            symbol: "pkg.mod",
            statement: "_l = threading.local()",
            occurrence: 0,
        };
        let (full, content) = base.fingerprints();
        let moved = FingerprintInput { path: "pkg/other.py", module: "pkg.other", symbol: "pkg.other", ..base };
        let (moved_full, moved_content) = moved.fingerprints();
        assert_ne!(full, moved_full, "the path is part of the identity");
        assert_eq!(content, moved_content, "a renamed file keeps its content identity");
        let second = FingerprintInput { occurrence: 1, ..base };
        assert_ne!(second.fingerprints().0, full);
        assert_eq!(full.len(), 32);
    }

    #[test]
    fn a_context_is_five_lines_around_its_lines_within_the_file_and_the_bounds() {
        let src: String = (1..=30).map(|n| format!("line {n}\r\n")).collect();
        let starts = SourceContext::line_starts(src.as_bytes());
        let near_top = SourceContext::around(src.as_bytes(), &starts, 2, 3);
        assert_eq!((near_top.start_line, near_top.lines.len()), (1, 8), "lines 1 to 8");
        assert_eq!(near_top.lines[0], "line 1", "no line break kept");
        let near_end = SourceContext::around(src.as_bytes(), &starts, 28, 28);
        assert_eq!((near_end.start_line, near_end.end_line()), (23, 31), "to the end (the empty last line)");
        let long = SourceContext::around(src.as_bytes(), &starts, 6, 29);
        assert_eq!((long.start_line, long.lines.len()), (1, SourceContext::MAX_LINES), "held to the most lines");
    }
}
