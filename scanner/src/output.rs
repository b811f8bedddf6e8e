//! Output formats: SARIF 2.1.0 (for code-scanning tools and Unthread's server), JSON Lines
//! (one finding per line) and a human summary.

use std::{collections::BTreeMap, fmt::Write as _};

use crate::{
    finding::FileProblem,
    finding::Severity,
    rules::{catalogue, Rule},
    scan::{ScanReport, SCANNER_VERSION},
};

/// `partialFingerprints` key carrying [`crate::Finding::fingerprint`].
pub const FINGERPRINT_KEY: &str = "unthread/v1";
/// `partialFingerprints` key carrying [`crate::Finding::content_fingerprint`].
pub const CONTENT_FINGERPRINT_KEY: &str = "unthreadContent/v1";
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

/// The report as a SARIF 2.1.0 log with one run (typed, so that writing it builds no
/// intermediate JSON tree; fields are in alphabetical order, as `serde_json::Value` wrote them).
pub fn sarif(report: &ScanReport) -> sarif::Log<'_> {
    use sarif::*;
    let rules: Vec<&Rule> = catalogue().collect();
    let index_of: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let results = report
        .findings
        .iter()
        .map(|f| SarifResult {
            level: level(f.severity),
            locations: [Location {
                logical_locations: [LogicalLocation { fully_qualified_name: &f.symbol }],
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation::of(&f.path),
                    region: Some(Region {
                        end_column: f.end.column,
                        end_line: f.end.line,
                        snippet: Text { text: &f.line_text },
                        start_column: f.start.column,
                        start_line: f.start.line,
                    }),
                },
            }],
            message: Text { text: &f.message },
            partial_fingerprints: PartialFingerprints {
                fingerprint: &f.fingerprint,
                content_fingerprint: &f.content_fingerprint,
            },
            properties: f.conditional.then_some(ResultProperties { conditional: true }),
            rule_id: &f.rule,
            rule_index: index_of.get(f.rule.as_str()).copied().unwrap_or(0),
        })
        .collect();
    let notifications = report
        .files
        .iter()
        .filter_map(|file| {
            let problem = file.problem.as_ref()?;
            let (id, level) = match problem {
                FileProblem::PartiallyParsed => (FILE_PARTIALLY_PARSED, "warning"),
                _ => (FILE_NOT_READ, "error"),
            };
            Some(Notification {
                descriptor: Descriptor { id },
                level,
                locations: [NotificationLocation {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation::of(&file.path),
                        region: None,
                    },
                }],
                message: OwnedText { text: problem.to_string() },
            })
        })
        .collect();
    Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            column_kind: "unicodeCodePoints",
            invocations: [Invocation { execution_successful: true, tool_execution_notifications: notifications }],
            properties: RunProperties {
                files_failed: report.files_failed().count(),
                files_scanned: report.files_scanned(),
            },
            results,
            tool: Tool {
                driver: Driver {
                    information_uri: "https://github.com/openedx/openedx-platform/issues/38680",
                    name: "unthread-scan",
                    rules: rules.iter().map(|r| RuleDescriptor::of(r)).collect(),
                    version: SCANNER_VERSION,
                },
            },
        }],
        version: "2.1.0",
    }
}

/// The SARIF 2.1.0 objects Unthread writes.
pub mod sarif {
    use serde::Serialize;

    use super::{level, path_to_uri, CONTENT_FINGERPRINT_KEY, FINGERPRINT_KEY};
    use crate::rules::Rule;

    #[derive(Serialize)]
    pub struct Log<'r> {
        #[serde(rename = "$schema")]
        pub schema: &'static str,
        pub runs: [Run<'r>; 1],
        pub version: &'static str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Run<'r> {
        pub column_kind: &'static str,
        pub invocations: [Invocation; 1],
        pub properties: RunProperties,
        pub results: Vec<SarifResult<'r>>,
        pub tool: Tool,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Invocation {
        pub execution_successful: bool,
        pub tool_execution_notifications: Vec<Notification>,
    }

    #[derive(Serialize)]
    pub struct Notification {
        pub descriptor: Descriptor,
        pub level: &'static str,
        pub locations: [NotificationLocation; 1],
        pub message: OwnedText,
    }

    #[derive(Serialize)]
    pub struct Descriptor {
        pub id: &'static str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct NotificationLocation {
        pub physical_location: PhysicalLocation<'static>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RunProperties {
        pub files_failed: usize,
        pub files_scanned: usize,
    }

    #[derive(Serialize)]
    pub struct Tool {
        pub driver: Driver,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Driver {
        pub information_uri: &'static str,
        pub name: &'static str,
        pub rules: Vec<RuleDescriptor>,
        pub version: &'static str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RuleDescriptor {
        pub default_configuration: Configuration,
        pub full_description: Text<'static>,
        pub help: Help,
        pub id: &'static str,
        pub name: &'static str,
        pub properties: RuleProperties,
        pub short_description: Text<'static>,
    }

    impl RuleDescriptor {
        pub fn of(rule: &Rule) -> Self {
            let help = rule.help_markdown();
            RuleDescriptor {
                default_configuration: Configuration { level: level(rule.severity) },
                full_description: Text { text: rule.summary },
                help: Help { markdown: help.clone(), text: help },
                id: rule.id,
                name: rule.name,
                properties: RuleProperties { tags: ["async-safety"] },
                short_description: Text { text: rule.summary },
            }
        }
    }

    #[derive(Serialize)]
    pub struct Configuration {
        pub level: &'static str,
    }

    #[derive(Serialize)]
    pub struct Help {
        pub markdown: String,
        pub text: String,
    }

    #[derive(Serialize)]
    pub struct RuleProperties {
        pub tags: [&'static str; 1],
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SarifResult<'r> {
        pub level: &'static str,
        pub locations: [Location<'r>; 1],
        pub message: Text<'r>,
        pub partial_fingerprints: PartialFingerprints<'r>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub properties: Option<ResultProperties>,
        pub rule_id: &'r str,
        pub rule_index: usize,
    }

    #[derive(Serialize)]
    pub struct ResultProperties {
        pub conditional: bool,
    }

    #[derive(Serialize)]
    pub struct PartialFingerprints<'r> {
        #[serde(rename = "unthread/v1")]
        pub fingerprint: &'r str,
        #[serde(rename = "unthreadContent/v1")]
        pub content_fingerprint: &'r str,
    }

    const _: () = assert!(
        matches!(FINGERPRINT_KEY.as_bytes(), b"unthread/v1")
            && matches!(CONTENT_FINGERPRINT_KEY.as_bytes(), b"unthreadContent/v1")
    );

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Location<'r> {
        pub logical_locations: [LogicalLocation<'r>; 1],
        pub physical_location: PhysicalLocation<'r>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LogicalLocation<'r> {
        pub fully_qualified_name: &'r str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PhysicalLocation<'r> {
        pub artifact_location: ArtifactLocation,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub region: Option<Region<'r>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ArtifactLocation {
        pub uri: String,
        pub uri_base_id: &'static str,
    }

    impl ArtifactLocation {
        /// A path relative to the scan root.
        pub fn of(path: &str) -> Self {
            ArtifactLocation { uri: path_to_uri(path), uri_base_id: "SRCROOT" }
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Region<'r> {
        pub end_column: u32,
        pub end_line: u32,
        pub snippet: Text<'r>,
        pub start_column: u32,
        pub start_line: u32,
    }

    #[derive(Serialize)]
    pub struct Text<'r> {
        pub text: &'r str,
    }

    #[derive(Serialize)]
    pub struct OwnedText {
        pub text: String,
    }
}

/// One JSON object per finding, one per line.
pub fn json_lines(report: &ScanReport) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        out.push_str(&serde_json::to_string(finding).expect("findings always serialise"));
        out.push('\n');
    }
    out
}

/// One line per finding, `path:line:column: RULE message`, as compilers and ruff print
/// them (editors and terminals link the location).
pub fn concise(report: &ScanReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let message = f.message.replace(['\r', '\n'], " ");
        let _ = writeln!(out, "{}:{}:{}: {} {message}", f.path, f.start.line, f.start.column, f.rule);
    }
    out
}

/// GitHub Actions workflow commands, one per finding: the runner shows each as an
/// annotation on the changed file (`error` for rules that break under ASGI, `warning`
/// otherwise, `notice` for notes).
pub fn github(report: &ScanReport) -> String {
    use crate::finding::Severity;
    let mut out = String::new();
    for f in &report.findings {
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

/// Counts per rule and per outcome, for people.
pub fn summary(report: &ScanReport) -> String {
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *per_rule.entry(f.rule.as_str()).or_default() += 1;
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:<7} {:<32} {:>8}", "rule", "name", "findings");
    for rule in catalogue() {
        let count = per_rule.get(rule.id).copied().unwrap_or(0);
        let _ = writeln!(out, "{:<7} {:<32} {:>8}", rule.id, rule.name, count);
    }
    let _ = writeln!(out, "{:<40} {:>8}", "total", report.findings.len());
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
                fingerprint: "f".repeat(32),
                content_fingerprint: "c".repeat(32),
                conditional: false,
            }],
            scanner_version: "test".into(),
            files: vec![],
            api_index: crate::ApiIndex::new(),
            cache_hits: 0,
        }
    }

    #[test]
    fn concise_lines_point_at_the_finding() {
        let text = concise(&report("pkg/state.py", "`threading.local()` keeps\nper-thread state", Severity::Error));
        assert_eq!(text, "pkg/state.py:3:10: UT001 `threading.local()` keeps per-thread state\n");
    }

    #[test]
    fn github_commands_escape_what_the_runner_would_misread() {
        let text = github(&report("a,b:c%.py", "100% leaks:\r\nhere, now", Severity::Error));
        assert_eq!(
            text,
            "::error file=a%2Cb%3Ac%25.py,line=3,col=10,endLine=3,endColumn=28,title=UT001::100%25 leaks:%0D%0Ahere, now\n"
        );
        assert!(github(&report("x.py", "m", Severity::Warning)).starts_with("::warning file=x.py,"));
        assert!(github(&report("x.py", "m", Severity::Note)).starts_with("::notice file=x.py,"));
    }
}
