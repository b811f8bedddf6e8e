//! Output formats: SARIF 2.1.0 (for code-scanning tools and Unthread's server), JSON Lines
//! (one finding per line), concise lines, GitHub Actions annotations, GitLab Code Quality and
//! a summary for people. SARIF holds every finding; the others only those the gate reports.

mod ci;
pub mod sarif;

use std::{collections::BTreeMap, fmt::Write as _};

pub use ci::{github, gitlab};

use crate::{baseline::Baseline, finding::Severity, gate::Verdict, rules::catalogue, scan::ScanReport, Finding};

pub use crate::finding::{CONTENT_FINGERPRINT_KEY, FINGERPRINT_KEY};
/// Notification ids for files the scan could not read (their findings must not be fixed)
/// and files that were only partly parsed.
pub const FILE_NOT_READ: &str = "unthread/file-not-read";
pub const FILE_PARTIALLY_PARSED: &str = "unthread/file-partially-parsed";

fn level(severity: Severity) -> &'static str {
    severity.as_str()
}

/// Percent-encodes a relative path into a URI reference (keeps `/`).
pub fn path_to_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(byte as char),
            _ => {
                let _ = write!(uri, "%{byte:02X}");
            }
        }
    }
    uri
}

/// The report as a SARIF 2.1.0 log (every finding; suppressed ones marked).
pub fn sarif(report: &ScanReport) -> sarif::Log<'_> {
    sarif::log(report, None)
}

/// [`sarif`] with each result's `baselineState` against `baseline`.
pub fn sarif_against<'r>(report: &'r ScanReport, baseline: Option<&Baseline>) -> sarif::Log<'r> {
    sarif::log(report, baseline)
}

/// One JSON object per finding, one per line.
pub fn json_lines<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> String {
    let mut out = String::new();
    for finding in findings {
        out.push_str(&serde_json::to_string(finding).expect("findings always serialise"));
        out.push('\n');
    }
    out
}

/// One line per finding, `path:line:column: RULE message`, as compilers and ruff print
/// them (editors and terminals link the location).
pub fn concise<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> String {
    concise_with_fixes(findings, None)
}

/// [`concise`], marking with `[*]` the findings `policy` would fix (as ruff does), and
/// ending with how many `--fix` would fix and how many more `--unsafe-fixes` would.
pub fn concise_with_fixes<'f>(
    findings: impl IntoIterator<Item = &'f Finding>,
    policy: Option<&crate::fix::FixPolicy>,
) -> String {
    let mut out = String::new();
    let (mut fixable, mut hidden) = (0, 0);
    for f in findings {
        let message = f.message.replace(['\r', '\n'], " ");
        let marked = policy.is_some_and(|p| p.applies(f));
        if marked {
            fixable += 1;
        } else if policy.is_some_and(|p| p.applicability(f) == Some(crate::fix::Applicability::Unsafe)) {
            hidden += 1;
        }
        let mark = if marked { " [*]" } else { "" };
        let _ = writeln!(out, "{}:{}:{}: {}{mark} {message}", f.path, f.start.line, f.start.column, f.rule);
    }
    if fixable > 0 {
        let _ = writeln!(out, "[*] {fixable} fixable with the `--fix` option.");
    }
    if hidden > 0 {
        let _ = writeln!(out, "({hidden} hidden fixes can be enabled with the `--unsafe-fixes` option.)");
    }
    out
}

/// Counts per rule of the reported findings, what the gate held back, and the files, for
/// people.
pub fn summary(report: &ScanReport, verdict: &Verdict<'_>) -> String {
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &verdict.reported {
        *per_rule.entry(f.rule.as_str()).or_default() += 1;
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:<7} {:<32} {:>8}", "rule", "name", "findings");
    for rule in catalogue() {
        let count = per_rule.get(rule.id).copied().unwrap_or(0);
        let _ = writeln!(out, "{:<7} {:<32} {:>8}", rule.id, rule.name, count);
    }
    let _ = writeln!(out, "{:<40} {:>8}", "total", verdict.reported.len());
    let held_back = [
        (verdict.suppressed, "suppressed in the source"),
        (verdict.baselined, "in the baseline"),
        (verdict.outside_diff, "on lines not changed since the diff base"),
    ];
    let held_back: Vec<String> =
        held_back.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    if !held_back.is_empty() {
        let _ = writeln!(out, "not reported: {}", held_back.join(", "));
    }
    let _ = writeln!(
        out,
        "\n{} files scanned, {} partially parsed, {} not read; {} thread-local APIs found",
        report.files_scanned(),
        report.partially_parsed().count(),
        report.files_failed().count(),
        report.api_index.len()
    );
    for file in report.files_failed() {
        if let Some(problem) = &file.problem {
            let _ = writeln!(out, "  not read: {} ({problem:?})", file.path);
        }
    }
    if report.cache_hits > 0 {
        let _ = writeln!(out, "{} files from the cache", report.cache_hits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Position, Severity};

    fn report(path: &str, message: &str, severity: Severity) -> ScanReport {
        ScanReport {
            findings: vec![Finding {
                rule: "UT001".into(),
                severity,
                path: path.into(),
                start: Position { line: 3, column: 10 },
                end: Position { line: 3, column: 28 },
                symbol: "m".into(),
                message: message.into(),
                line_text: "_state = threading.local()".into(),
                context: None,
                fingerprint: "f".repeat(32),
                content_fingerprint: "c".repeat(32),
                conditional: false,
                suppression: None,
                fix: None,
                also_on_lines: Vec::new(),
                runs_at: None,
            }],
            scanner_version: "test".into(),
            files: vec![],
            api_index: crate::ApiIndex::new(),
            imports: Default::default(),
            calls_out: None,
            cache_hits: 0,
        }
    }

    #[test]
    fn concise_lines_point_at_the_finding() {
        let text =
            concise(&report("pkg/state.py", "`threading.local()` keeps\nper-thread state", Severity::Error).findings);
        assert_eq!(text, "pkg/state.py:3:10: UT001 `threading.local()` keeps per-thread state\n");
    }

    #[test]
    fn github_commands_escape_what_the_runner_would_misread() {
        let text = github(&report("a,b:c%.py", "100% leaks:\r\nhere, now", Severity::Error).findings);
        assert_eq!(
            text,
            "::error file=a%2Cb%3Ac%25.py,line=3,col=10,endLine=3,endColumn=28,title=UT001::100%25 leaks:%0D%0Ahere, now\n"
        );
        assert!(github(&report("x.py", "m", Severity::Warning).findings).starts_with("::warning file=x.py,"));
        assert!(github(&report("x.py", "m", Severity::Note).findings).starts_with("::notice file=x.py,"));
    }

    #[test]
    fn a_log_written_in_parts_is_the_log_written_whole() {
        let mut whole = report("pkg/state.py", "m", Severity::Error);
        let mut second = whole.findings[0].clone();
        second.rule = "UT003".into();
        second.fingerprint = "e".repeat(32);
        whole.findings.push(second);
        let (before, after) = sarif::envelope(&whole);
        let results: Vec<String> = whole.findings.iter().map(sarif::result_text).collect();
        let streamed = format!("{before}{}{after}", results.join(","));
        assert_eq!(streamed, serde_json::to_string(&sarif::log(&whole, None)).unwrap());
    }
}
