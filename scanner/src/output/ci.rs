//! Formats for CI systems: GitHub Actions workflow commands and GitLab Code Quality.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{finding::Severity, Finding};

/// GitHub Actions workflow commands, one per finding: the runner shows each as an
/// annotation on the changed file (`error` for rules that break under ASGI, `warning`
/// otherwise, `notice` for notes).
pub fn github<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            github_property(&f.path),
            f.start.line,
            f.start.column,
            f.end.line,
            f.end.column,
            github_property(&f.rule),
            github_data(&f.message),
        );
    }
    out
}

/// A workflow command's message: `%`, CR and LF are escaped (the runner decodes them).
fn github_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`, which end a property.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A GitLab Code Quality report (a subset of Code Climate's issue format): GitLab shows
/// its issues in the merge request. Each issue's fingerprint is the finding's, so GitLab
/// tells new from old as Unthread does.
pub fn gitlab<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> String {
    let issues: Vec<CodeQualityIssue<'_>> = findings
        .into_iter()
        .map(|f| CodeQualityIssue {
            check_name: &f.rule,
            description: &f.message,
            fingerprint: &f.fingerprint,
            location: CodeQualityLocation {
                lines: CodeQualityLines { begin: f.start.line, end: f.end.line },
                path: &f.path,
            },
            severity: match f.severity {
                Severity::Error => "major",
                Severity::Warning => "minor",
                Severity::Note => "info",
            },
            categories: ["Bug Risk"],
            kind: "issue",
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).expect("issues always serialise");
    out.push('\n');
    out
}

#[derive(Serialize)]
struct CodeQualityIssue<'f> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'f str,
    description: &'f str,
    categories: [&'static str; 1],
    fingerprint: &'f str,
    severity: &'static str,
    location: CodeQualityLocation<'f>,
}

#[derive(Serialize)]
struct CodeQualityLocation<'f> {
    path: &'f str,
    lines: CodeQualityLines,
}

#[derive(Serialize)]
struct CodeQualityLines {
    begin: u32,
    end: u32,
}
