//! Output formats: SARIF 2.1.0 (for code-scanning tools and Unthread's server), JSON Lines
//! (one finding per line) and a human summary.

use std::{collections::BTreeMap, fmt::Write as _};

use serde_json::{json, Value};

use crate::{
    finding::FileProblem,
    rules::{catalogue, Rule, Severity},
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

fn rule_descriptor(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rule.summary },
        "help": { "text": rule.help_markdown(), "markdown": rule.help_markdown() },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": ["async-safety"] }
    })
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

/// The report as a SARIF 2.1.0 log with one run.
pub fn sarif(report: &ScanReport) -> Value {
    let rules: Vec<&Rule> = catalogue().collect();
    let index_of: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": index_of.get(f.rule.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": path_to_uri(&f.path), "uriBaseId": "SRCROOT" },
                        "region": {
                            "startLine": f.start.line,
                            "startColumn": f.start.column,
                            "endLine": f.end.line,
                            "endColumn": f.end.column,
                            "snippet": { "text": f.line_text }
                        }
                    },
                    "logicalLocations": [{ "fullyQualifiedName": f.symbol }]
                }],
                "partialFingerprints": {
                    FINGERPRINT_KEY: f.fingerprint,
                    CONTENT_FINGERPRINT_KEY: f.content_fingerprint
                }
            });
            if f.conditional {
                result["properties"] = json!({ "conditional": true });
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .files
        .iter()
        .filter_map(|file| {
            let problem = file.problem.as_ref()?;
            let (id, level) = match problem {
                FileProblem::PartiallyParsed => (FILE_PARTIALLY_PARSED, "warning"),
                _ => (FILE_NOT_READ, "error"),
            };
            let text = problem.to_string();
            Some(json!({
                "descriptor": { "id": id },
                "level": level,
                "message": { "text": text },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": path_to_uri(&file.path), "uriBaseId": "SRCROOT" } } }]
            }))
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "unthread-scan",
                    "version": SCANNER_VERSION,
                    "informationUri": "https://github.com/openedx/openedx-platform/issues/38680",
                    "rules": rules.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>()
                }
            },
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications
            }],
            "properties": {
                "filesScanned": report.files_scanned(),
                "filesFailed": report.files_failed().count()
            },
            "results": results
        }]
    })
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
