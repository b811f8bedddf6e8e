//! Inline suppressions: the comments with which a reviewed finding is marked as intended.
//!
//! - `# noqa` (every rule), `# noqa: UT001, UT003` (ruff's and flake8's convention; codes of
//!   other tools in the same comment are theirs and left alone);
//! - `# unthread: ignore[UT001] -- reason` (or `ignore` alone: every rule);
//! - `# unthread: ignore-file[UT010] -- reason` anywhere in a file (or `ignore-file`: every
//!   rule in it).
//!
//! A line directive applies to a finding reported on its line or on the first or last line
//! of the statement holding the finding (where a formatter leaves a trailing comment). A
//! suppressed finding is still reported, with its [`Suppression`], so SARIF keeps it and
//! the server records it as triaged with the reason; other formats leave it out.

mod comments;

use serde::{Deserialize, Serialize};

pub use comments::{comments, Comment};

pub use crate::finding::{Suppression, SuppressionKind};
use crate::{finding::Finding, is_rule_id, rules};

/// Something wrong with a file's suppression comments, for the user to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionNote {
    pub line: u32,
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// A rule id that is not in the catalogue (always shown, as a warning).
    UnknownRule,
    /// An `unthread:` comment that is not a directive (always shown, as a warning).
    Malformed,
    /// A directive, or one of its rule ids, that silenced nothing
    /// (`--report-unused-suppressions`).
    Unused,
}

/// One directive of a file.
#[derive(Debug)]
struct Directive {
    line: u32,
    kind: SuppressionKind,
    /// `None`: every rule.
    rules: Option<Vec<&'static str>>,
    justification: Option<String>,
    /// Which of `rules` (or, for `None`, the directive) silenced a finding.
    used: Vec<bool>,
}

impl Directive {
    fn covers(&self, rule: &str) -> Option<usize> {
        match &self.rules {
            None => Some(0),
            Some(rules) => rules.iter().position(|r| *r == rule),
        }
    }
}

/// A file's directives.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// Line directives, in line order.
    lines: Vec<Directive>,
    file: Vec<Directive>,
    notes: Vec<SuppressionNote>,
}

/// Cheap test first: most files have no directive, and need no lexing. (The spellings of
/// `noqa` seen in code, matched exactly: a case-insensitive search is several times slower,
/// and this runs over every file of a scan. Other casings are still read in files that
/// have one of these.)
fn may_have_directives(src: &[u8]) -> bool {
    static MARKERS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::new(["noqa", "NOQA", "NoQA", "Noqa", "unthread:"]).expect("literal patterns")
    });
    MARKERS.is_match(src)
}

impl Suppressions {
    /// The directives of `src` (Python source text; other bytes give no directives).
    pub fn parse(src: &[u8]) -> Self {
        let mut this = Suppressions::default();
        if !may_have_directives(src) {
            return this;
        }
        for comment in comments(src) {
            this.read_comment(comment);
        }
        this
    }

    /// True when the file has no directive and no note.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.file.is_empty() && self.notes.is_empty()
    }

    fn read_comment(&mut self, comment: Comment<'_>) {
        // `# type: ignore  # noqa: UT001`: each `#` starts a part that may be a directive.
        let text = comment.text;
        for (at, _) in text.match_indices('#') {
            let part = text[at + 1..].split('#').next().unwrap_or("").trim();
            if let Some(rest) = strip_prefix_ignore_case(part, "noqa") {
                self.read_noqa(comment.line, rest);
            } else if strip_prefix_ignore_case(part, "unthread:").is_some() {
                // The directive ends at the next `#`, but its reason (after `--`) runs to the
                // end of the line: "-- keeps the port (#38740)" is one reason.
                let whole = text[at + 1..].trim_start();
                let rest = strip_prefix_ignore_case(whole, "unthread:").unwrap_or("").trim_start();
                let directive_end = rest.find('#').unwrap_or(rest.len());
                let rest = match rest.find("--") {
                    Some(dashes) if dashes < directive_end => rest,
                    _ => &rest[..directive_end],
                };
                self.read_unthread(comment.line, rest);
            }
        }
    }

    /// `rest` follows `noqa`.
    fn read_noqa(&mut self, line: u32, rest: &str) {
        if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            return; // `# noqabc`: a word, not a directive
        }
        let Some(codes) = rest.trim_start().strip_prefix(':') else {
            return self.push_line(line, SuppressionKind::Noqa, None, None);
        };
        // Codes run until the first word that is not one: the rest is free text.
        let codes: Vec<&str> = codes
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|code| !code.is_empty())
            .take_while(|code| is_code(code))
            .collect();
        if codes.is_empty() {
            // flake8 reads `# noqa:` with nothing after it as a bare `# noqa`.
            return self.push_line(line, SuppressionKind::Noqa, None, None);
        }
        // Codes of other tools are theirs; a comment naming only those is not ours.
        let ours: Vec<&str> = codes.into_iter().filter(|code| is_rule_id(&code.to_ascii_uppercase())).collect();
        if ours.is_empty() {
            return;
        }
        let rules = self.known_rules(line, &ours);
        self.push_line(line, SuppressionKind::Noqa, Some(rules), None);
    }

    /// `rest` follows `unthread:`.
    fn read_unthread(&mut self, line: u32, rest: &str) {
        let (body, justification) = match rest.split_once("--") {
            Some((body, reason)) => (body.trim(), Some(reason.trim()).filter(|r| !r.is_empty()).map(str::to_owned)),
            None => (rest.trim(), None),
        };
        let (kind, codes) = if let Some(codes) = body.strip_prefix("ignore-file") {
            (SuppressionKind::IgnoreFile, codes.trim())
        } else if let Some(codes) = body.strip_prefix("ignore") {
            (SuppressionKind::Ignore, codes.trim())
        } else {
            return self.note(line, NoteKind::Malformed, format!("`# unthread: {body}` is not a directive: write `# unthread: ignore[UT001] -- reason` or `# unthread: ignore-file[UT001] -- reason`"));
        };
        let rules = if codes.is_empty() {
            None
        } else if let Some(list) = codes.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
            let ids: Vec<&str> =
                list.split(|c: char| c == ',' || c.is_whitespace()).filter(|c| !c.is_empty()).collect();
            Some(self.known_rules(line, &ids))
        } else {
            return self.note(
                line,
                NoteKind::Malformed,
                format!("`# unthread: {body}`: name the rules in brackets, `[UT001, UT003]`"),
            );
        };
        match kind {
            SuppressionKind::IgnoreFile => {
                let used = vec![false; rules.as_ref().map_or(1, Vec::len)];
                self.file.push(Directive { line, kind, rules, justification, used });
            }
            _ => self.push_line(line, kind, rules, justification),
        }
    }

    /// The catalogue's rules among `ids`; each other id gets a note.
    fn known_rules(&mut self, line: u32, ids: &[&str]) -> Vec<&'static str> {
        let mut rules = Vec::new();
        for id in ids {
            match rules::by_id(&id.to_ascii_uppercase()) {
                Some(rule) => rules.push(rule.id),
                None => self.note(line, NoteKind::UnknownRule, format!("unknown rule `{id}` in a suppression comment")),
            }
        }
        rules
    }

    fn push_line(
        &mut self,
        line: u32,
        kind: SuppressionKind,
        rules: Option<Vec<&'static str>>,
        justification: Option<String>,
    ) {
        let used = vec![false; rules.as_ref().map_or(1, Vec::len)];
        self.lines.push(Directive { line, kind, rules, justification, used });
    }

    fn note(&mut self, line: u32, kind: NoteKind, message: String) {
        self.notes.push(SuppressionNote { line, kind, message });
    }

    /// Marks each finding a directive covers as suppressed. `statements[i]` is the first
    /// and last line of the statement holding `findings[i]`.
    pub fn apply(&mut self, findings: &mut [Finding], statements: &[(u32, u32)]) {
        if self.lines.is_empty() && self.file.is_empty() {
            return;
        }
        for (finding, &(first, last)) in findings.iter_mut().zip(statements) {
            let lines = [finding.start.line, first, last];
            let hit = self
                .lines
                .iter_mut()
                .filter(|d| lines.contains(&d.line))
                .chain(self.file.iter_mut())
                .find_map(|d| d.covers(&finding.rule).map(|i| (d, i)));
            if let Some((directive, i)) = hit {
                directive.used[i] = true;
                finding.suppression = Some(Suppression {
                    kind: directive.kind,
                    justification: directive.justification.clone(),
                    line: directive.line,
                });
            }
        }
    }

    /// The file's notes: unknown ids and malformed directives, then directives (or ids in
    /// them) that silenced nothing. A bare `# noqa` is never unused: it may be another
    /// tool's.
    pub fn into_notes(self) -> Vec<SuppressionNote> {
        let mut notes = self.notes;
        for directive in self.lines.iter().chain(&self.file) {
            match &directive.rules {
                None if directive.kind == SuppressionKind::Noqa => {}
                None if !directive.used[0] => notes.push(SuppressionNote {
                    line: directive.line,
                    kind: NoteKind::Unused,
                    message: format!("unused suppression: `{}` silences nothing", directive.kind.directive()),
                }),
                None => {}
                Some(rules) => {
                    for (rule, used) in rules.iter().zip(&directive.used) {
                        if !used {
                            notes.push(SuppressionNote {
                                line: directive.line,
                                kind: NoteKind::Unused,
                                message: format!(
                                    "unused suppression: {rule} in `{}` silences nothing",
                                    directive.kind.directive()
                                ),
                            });
                        }
                    }
                }
            }
        }
        notes.sort_by_key(|n| n.line);
        notes
    }
}

/// A flake8-style code: letters then digits (`E501`, `UT001`, `B950`).
fn is_code(word: &str) -> bool {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    digits.len() < word.len() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn strip_prefix_ignore_case<'s>(text: &'s str, prefix: &str) -> Option<&'s str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests;
