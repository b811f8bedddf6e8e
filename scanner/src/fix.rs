//! Fixes: the edits a rule offers for a finding, and applying them to a file safely.
//!
//! A rule attaches a [`Fix`] when the change is mechanical: byte-range [`Edit`]s on the parsed
//! file (comments, formatting and line endings around them untouched), with an
//! [`Applicability`] that says whether it keeps behaviour (`safe`, applied by `--fix`) or
//! may change it (`unsafe`, only with `--unsafe-fixes`). Each rule's documentation has a
//! `## Fix safety` section saying which and why.
//!
//! [`fix_source`] applies the chosen fixes of one file as ruff does: the non-overlapping ones
//! in a round, then the file is scanned again and the fixes of what is still found are applied
//! in the next round (a fix can make another: replacing `threading.local()` leaves
//! `import threading` unused), until nothing changes or [`MAX_ROUNDS`]. Every round's result
//! is verified: it must parse as well as the original did and must not have a finding the
//! original did not have (other than UT100, which records migrated state); a round that fails
//! is rolled back and reported, and nothing of it is kept.

use crate::finding::Finding;
pub use crate::finding::{Applicability, Edit, Fix};

/// Rounds of fixing one file at most (each round rescans it).
pub const MAX_ROUNDS: usize = 10;

/// Which fixes to apply, from `--fix` / `--unsafe-fixes` and the configuration
/// (`extend-safe-fixes` promotes a rule's unsafe fixes, `extend-unsafe-fixes` demotes its
/// safe ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixPolicy {
    pub unsafe_fixes: bool,
    pub extend_safe: Vec<String>,
    pub extend_unsafe: Vec<String>,
    /// Fix only these findings — and what their fixes leave behind (an import the fix made
    /// unused) — as a pull request for chosen findings does. By content fingerprint: one
    /// file's findings are told apart by it, and it does not depend on how the file's module
    /// is named (a file scanned alone may be named differently than in its tree). `None`:
    /// every finding the policy applies to.
    pub only: Option<std::collections::BTreeSet<String>>,
}

impl FixPolicy {
    /// How `finding`'s fix counts under this policy.
    pub fn applicability(&self, finding: &Finding) -> Option<Applicability> {
        let fix = finding.fix.as_ref()?;
        let listed = |rules: &[String]| rules.iter().any(|r| finding.rule.starts_with(r.as_str()) || r == "ALL");
        Some(if listed(&self.extend_unsafe) {
            Applicability::Unsafe
        } else if listed(&self.extend_safe) {
            Applicability::Safe
        } else {
            fix.applicability
        })
    }

    /// Whether `finding` is one of the chosen findings ([`FixPolicy::only`]).
    pub fn selects(&self, finding: &Finding) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&finding.content_fingerprint))
    }

    /// Whether `finding`'s fix is applied: it has one, it is not suppressed, and it is safe
    /// (or unsafe fixes were asked for).
    pub fn applies(&self, finding: &Finding) -> bool {
        finding.suppression.is_none()
            && match self.applicability(finding) {
                Some(Applicability::Safe) => true,
                Some(Applicability::Unsafe) => self.unsafe_fixes,
                None => false,
            }
    }
}

/// The byte range all of a fix's edits cover, for overlap checks.
fn span(fix: &Fix) -> (usize, usize) {
    let start = fix.edits.iter().map(|e| e.start).min().unwrap_or(0);
    let end = fix.edits.iter().map(|e| e.end).max().unwrap_or(0);
    (start, end)
}

/// Applies the fixes in order of their first edit, skipping any that overlaps one already
/// applied (the next round gets it). `None` when no fix applied.
pub fn apply(source: &[u8], fixes: &[&Fix]) -> Option<(Vec<u8>, usize)> {
    let mut fixes: Vec<&Fix> = fixes.iter().copied().filter(|f| !f.edits.is_empty()).collect();
    fixes.sort_by_key(|f| span(f));
    let mut chosen: Vec<&Edit> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        let (start, end) = span(fix);
        // Two insertions at one point would be ambiguous; two edits touching ranges overlap.
        let overlaps = taken.iter().any(|&(s, e)| start < e && s < end || (start == s && end == e));
        if overlaps || end > source.len() || fix.edits.iter().any(|e| e.start > e.end) {
            continue;
        }
        taken.push((start, end));
        chosen.extend(fix.edits.iter());
        applied += 1;
    }
    if applied == 0 {
        return None;
    }
    chosen.sort_by_key(|e| (e.start, e.end));
    let mut out = Vec::with_capacity(source.len());
    let mut at = 0;
    for edit in chosen {
        out.extend_from_slice(&source[at..edit.start]);
        out.extend_from_slice(edit.content.as_bytes());
        at = edit.end;
    }
    out.extend_from_slice(&source[at..]);
    Some((out, applied))
}

/// A fixed file, or why a round of it was not kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOutcome {
    /// The file after every kept round (equal to the input when nothing applied).
    pub fixed: Vec<u8>,
    /// Fixes applied in kept rounds, per rule.
    pub applied: Vec<(String, usize)>,
    /// Rounds rolled back, and why (`UT001 at 12:5: ...`).
    pub rolled_back: Vec<String>,
}

/// What a rescan of a file says, for [`fix_source`]: its findings, and whether it parsed
/// without syntax errors.
pub struct Rescan {
    pub findings: Vec<Finding>,
    pub parses: bool,
}

/// Fixes one file: rounds of [`apply`] over what `scan` finds, each verified (see the module
/// documentation). `scan` scans the given bytes as this file. A round may leave a new finding
/// that a later round's fix removes (replacing `threading.local()` leaves `import threading`
/// unused); what is kept is the last state with no new finding.
pub fn fix_source(
    source: &[u8],
    policy: &FixPolicy,
    mut scan: impl FnMut(&[u8]) -> Rescan,
    first: Rescan,
) -> FixOutcome {
    let original_parses = first.parses;
    // What the file had before any fix: a fix must not bring anything else.
    let known: std::collections::HashSet<(String, String)> =
        first.findings.iter().map(|f| (f.rule.clone(), f.content_fingerprint.clone())).collect();
    let is_new = |f: &Finding| f.rule != "UT100" && !known.contains(&(f.rule.clone(), f.content_fingerprint.clone()));
    let identity = |f: &Finding| (f.rule.clone(), f.content_fingerprint.clone());
    let mut current = source.to_vec();
    let mut findings = first.findings;
    // The last state with no new finding, and the fixes applied to reach it.
    let mut kept = (source.to_vec(), std::collections::BTreeMap::<String, usize>::new());
    let mut applied: std::collections::BTreeMap<String, usize> = Default::default();
    let mut rolled_back = Vec::new();
    for _ in 0..MAX_ROUNDS {
        // The chosen findings, and any a fix of this run made (those follow from the choice).
        let chosen: Vec<&Finding> =
            findings.iter().filter(|f| policy.applies(f) && (is_new(f) || policy.selects(f))).collect();
        let fixes: Vec<&Fix> = chosen.iter().filter_map(|f| f.fix.as_ref()).collect();
        let Some((candidate, _)) = apply(&current, &fixes) else { break };
        if candidate == current {
            break;
        }
        let rescan = scan(&candidate);
        if original_parses && !rescan.parses {
            rolled_back.push(format!("{}: the fixed file would not parse", describe(&chosen)));
            break;
        }
        // A new finding no fix of this policy removes: this round is not kept.
        if let Some(stuck) = rescan.findings.iter().find(|f| is_new(f) && !policy.applies(f)) {
            rolled_back.push(format!(
                "{}: the fixed file would have a new {} finding at {}:{} ({})",
                describe(&chosen),
                stuck.rule,
                stuck.start.line,
                stuck.start.column,
                stuck.message
            ));
            break;
        }
        // Which of the chosen findings the round removed: those are the fixes it applied.
        let still: std::collections::HashSet<(String, String)> = rescan.findings.iter().map(identity).collect();
        for f in &chosen {
            if !still.contains(&identity(f)) {
                *applied.entry(f.rule.clone()).or_default() += 1;
            }
        }
        current = candidate;
        findings = rescan.findings;
        if !findings.iter().any(is_new) {
            kept = (current.clone(), applied.clone());
        }
    }
    if kept.0 != current {
        if let Some(left) = findings.iter().find(|f| is_new(f)) {
            rolled_back.push(format!(
                "rounds ending with a new {} finding at {}:{} ({}) were not kept",
                left.rule, left.start.line, left.start.column, left.message
            ));
        }
    }
    let (fixed, applied) = kept;
    FixOutcome { fixed, applied: applied.into_iter().collect(), rolled_back }
}

/// `--- a/path` / `+++ b/path` and the changed hunks with three lines of context.
pub fn unified_diff(path: &str, before: &[u8], after: &[u8]) -> String {
    let (before, after) = (String::from_utf8_lossy(before), String::from_utf8_lossy(after));
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

fn describe(findings: &[&Finding]) -> String {
    let mut places: Vec<String> =
        findings.iter().map(|f| format!("{} at {}:{}", f.rule, f.start.line, f.start.column)).collect();
    places.truncate(5);
    format!("fixes of {}", places.join(", "))
}

/// The line break a file uses (`\r\n` when its first line ends so), for inserted lines.
pub fn line_ending(source: &[u8]) -> &'static str {
    match memchr::memchr(b'\n', source) {
        Some(i) if i > 0 && source[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Position;

    fn edit(start: usize, end: usize, content: &str) -> Edit {
        let p = Position { line: 1, column: 1 };
        Edit { start, end, content: content.into(), start_position: p, end_position: p }
    }

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix { message: "x".into(), applicability: Applicability::Safe, edits }
    }

    #[test]
    fn non_overlapping_fixes_apply_in_one_round_and_overlapping_ones_wait() {
        let source = b"abcdefghij";
        let a = fix(vec![edit(0, 2, "AB")]);
        let b = fix(vec![edit(5, 6, ""), edit(8, 8, "!")]);
        let c = fix(vec![edit(1, 3, "zz")]);
        let (out, applied) = apply(source, &[&b, &c, &a]).unwrap();
        assert_eq!((String::from_utf8(out).unwrap().as_str(), applied), ("ABcdegh!ij", 2));
        assert_eq!(apply(source, &[]), None);
    }

    #[test]
    fn line_endings_are_the_files() {
        assert_eq!(line_ending(b"import os\r\nx = 1\r\n"), "\r\n");
        assert_eq!(line_ending(b"import os\nx = 1\n"), "\n");
        assert_eq!(line_ending(b"x = 1"), "\n");
    }
}
