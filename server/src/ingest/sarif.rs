//! SARIF 2.1.0 import: results of `unthread-scan` (which carry Unthread's fingerprints) or of
//! other tools such as ruff or semgrep (which may carry none) become a [`ScanInput`].
//!
//! Paths are untrusted: a result is located by its artifact URI relative to the scan root
//! (a `uriBaseId`, or an absolute path or `file://` URI under the given root). Anything that would
//! point outside the root (`..`, an absolute path elsewhere) is an error, and so is the whole
//! upload: nothing of a malformed file is ingested.

use std::collections::HashMap;

use serde::Deserialize;

use super::scan::{IncomingFinding, ScanInput};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SarifError {
    #[error("not a SARIF log: {0}")]
    Json(String),
    #[error("SARIF version {0:?} is not supported (expected 2.1.0)")]
    Version(String),
    #[error("the SARIF log has no run")]
    NoRun,
    #[error("result {index}: {message}")]
    Result { index: usize, message: String },
}

#[derive(Deserialize)]
struct Log {
    version: String,
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    #[serde(default)]
    results: Vec<SarifResult>,
    #[serde(default)]
    invocations: Vec<Invocation>,
    #[serde(default)]
    properties: HashMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize)]
struct Driver {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: Option<bool>,
    #[serde(default)]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Deserialize)]
struct Notification {
    descriptor: Option<Descriptor>,
    message: Option<Message>,
    #[serde(default)]
    locations: Vec<Location>,
}

#[derive(Deserialize)]
struct Descriptor {
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: Option<String>,
    message: Option<Message>,
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default)]
    partial_fingerprints: HashMap<String, String>,
    #[serde(default)]
    properties: HashMap<String, serde_json::Value>,
    #[serde(default)]
    suppressions: Vec<Suppression>,
    /// Proposed fixes; the first one of the result's own file is kept (`findings.fix`).
    #[serde(default)]
    fixes: Vec<SarifFix>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifFix {
    description: Option<Message>,
    #[serde(default)]
    artifact_changes: Vec<ArtifactChange>,
    #[serde(default)]
    properties: HashMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: Option<ArtifactLocation>,
    #[serde(default)]
    replacements: Vec<Replacement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Option<Region>,
    inserted_content: Option<Message>,
}

/// Most edits a stored fix keeps, and most characters of text it inserts in all: a fix is a
/// small mechanical change, and the page shows it whole.
const FIX_EDITS_MAX: usize = 50;
const FIX_TEXT_MAX: usize = 20_000;

/// The result's first fix that changes only its own file (`path`), as stored; `None` when it
/// has none, or one too large or malformed to keep (the finding is kept either way).
fn fix_of(fixes: &[SarifFix], uri: &str) -> Option<db::views::FixView> {
    let fix = fixes.first()?;
    let [change] = fix.artifact_changes.as_slice() else { return None };
    if change.artifact_location.as_ref()?.uri.as_deref()? != uri || change.replacements.len() > FIX_EDITS_MAX {
        return None;
    }
    let mut inserted = 0;
    let mut edits = Vec::with_capacity(change.replacements.len());
    for replacement in &change.replacements {
        let region = replacement.deleted_region.as_ref()?;
        let n = |v: Option<i64>| u32::try_from(v?).ok().filter(|n| *n >= 1);
        let start_line = n(region.start_line)?;
        let start_column = n(region.start_column)?;
        let end_line = n(region.end_line).unwrap_or(start_line);
        let end_column = n(region.end_column).unwrap_or(start_column);
        if (end_line, end_column) < (start_line, start_column) {
            return None;
        }
        let content = replacement.inserted_content.as_ref().and_then(|m| m.text.clone()).unwrap_or_default();
        inserted += content.chars().count();
        edits.push(db::views::FixEdit { start_line, start_column, end_line, end_column, content });
    }
    if inserted > FIX_TEXT_MAX {
        return None;
    }
    let applicability = match fix.properties.get("unthread/applicability").and_then(|v| v.as_str()) {
        Some("safe") => "safe",
        // A fix whose safety nobody stated is not presented as safe.
        _ => "unsafe",
    };
    let message: String = fix.description.as_ref().and_then(|m| m.text.clone()).unwrap_or_default();
    Some(db::views::FixView {
        message: message.chars().take(500).collect(),
        applicability: applicability.to_owned(),
        edits,
    })
}

/// SARIF's record of a result set aside: `inSource` (a comment in the code, as
/// `unthread-scan` writes for `# noqa`) or `external`, with an optional justification.
#[derive(Deserialize)]
struct Suppression {
    kind: Option<String>,
    status: Option<String>,
    justification: Option<String>,
}

impl Suppression {
    /// The triage reason, when the suppression is in force (SARIF: a suppression without a
    /// status is accepted; `underReview` and `rejected` ones are not).
    fn reason(&self) -> Option<String> {
        if self.status.as_deref().is_some_and(|status| status != "accepted") {
            return None;
        }
        let justification = self.justification.as_deref().map(str::trim).filter(|j| !j.is_empty());
        Some(match (justification, self.kind.as_deref()) {
            (Some(justification), _) => justification.to_owned(),
            (None, Some("inSource")) => "suppressed in the source".to_owned(),
            (None, _) => "suppressed outside the source".to_owned(),
        })
    }
}

#[derive(Deserialize)]
struct Message {
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
    #[serde(default)]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
    region: Option<Region>,
    context_region: Option<ContextRegion>,
}

/// The lines around the result (`unthread-scan` writes them; other tools may not).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContextRegion {
    start_line: Option<i64>,
    snippet: Option<Snippet>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: Option<i64>,
    start_column: Option<i64>,
    end_line: Option<i64>,
    end_column: Option<i64>,
    snippet: Option<Snippet>,
}

#[derive(Deserialize)]
struct Snippet {
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: Option<String>,
}

/// Parses a SARIF log of one target. `root` is the absolute scan root that absolute `file://`
/// URIs are made relative to (ruff writes those).
pub fn parse(
    bytes: &[u8],
    target_id: i64,
    revision: Option<String>,
    root: Option<&str>,
) -> Result<ScanInput, SarifError> {
    let log: Log = serde_json::from_slice(bytes).map_err(|e| SarifError::Json(e.to_string()))?;
    if log.version != "2.1.0" {
        return Err(SarifError::Version(log.version));
    }
    let mut runs = log.runs.into_iter();
    let run = runs.next().ok_or(SarifError::NoRun)?;
    let complete = run.invocations.iter().all(|i| i.execution_successful != Some(false));
    let unread_files = run
        .invocations
        .iter()
        .flat_map(|i| &i.tool_execution_notifications)
        .filter(|n| n.descriptor.as_ref().and_then(|d| d.id.as_deref()) == Some(scanner::output::FILE_NOT_READ))
        .filter_map(|n| {
            let uri = n.locations.first()?.physical_location.as_ref()?.artifact_location.as_ref()?.uri.as_deref()?;
            let why = n.message.as_ref().and_then(|m| m.text.clone()).unwrap_or_default();
            Some(relative_path(uri, root).map(|p| (p, why)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| SarifError::Result { index: 0, message })?;

    let mut findings = Vec::with_capacity(run.results.len());
    // Results without Unthread's fingerprint are numbered within (rule, path, text).
    let mut occurrences: HashMap<(String, String, String), usize> = HashMap::new();
    for (index, result) in run.results.into_iter().enumerate() {
        let error = |message: &str| SarifError::Result { index, message: message.to_owned() };
        let rule = result.rule_id.filter(|r| !r.is_empty()).ok_or_else(|| error("no ruleId"))?;
        if !rule.chars().all(|c| c.is_ascii_alphanumeric() || "_./:-".contains(c)) {
            return Err(error(&format!("ruleId {rule:?} has characters a rule id cannot have")));
        }
        let location = result.locations.first().ok_or_else(|| error("no location"))?;
        let physical = location.physical_location.as_ref().ok_or_else(|| error("no physical location"))?;
        let uri = physical
            .artifact_location
            .as_ref()
            .and_then(|a| a.uri.as_deref())
            .ok_or_else(|| error("no artifact URI"))?;
        let path = relative_path(uri, root).map_err(|m| error(&m))?;
        let region = physical.region.as_ref();
        let line = |value: Option<i64>| i32::try_from(value.unwrap_or(1)).ok().filter(|v| *v >= 1);
        let start_line = line(region.and_then(|r| r.start_line)).ok_or_else(|| error("startLine out of range"))?;
        let end_line = line(region.and_then(|r| r.end_line).or(Some(start_line as i64)))
            .ok_or_else(|| error("endLine out of range"))?;
        let start_column =
            line(region.and_then(|r| r.start_column)).ok_or_else(|| error("startColumn out of range"))?;
        let end_column = line(region.and_then(|r| r.end_column)).ok_or_else(|| error("endColumn out of range"))?;
        if end_line < start_line {
            return Err(error("the region ends before it starts"));
        }
        let message = result.message.and_then(|m| m.text).unwrap_or_default();
        let snippet = region.and_then(|r| r.snippet.as_ref()).and_then(|s| s.text.clone());
        let symbol = location.logical_locations.first().and_then(|l| l.fully_qualified_name.clone());
        let (fingerprint, content_fingerprint) = match result.partial_fingerprints.get(scanner::output::FINGERPRINT_KEY)
        {
            Some(fp) => {
                (fp.clone(), result.partial_fingerprints.get(scanner::output::CONTENT_FINGERPRINT_KEY).cloned())
            }
            None => {
                // Line numbers change with every edit above; the text of the finding does not.
                let text =
                    snippet.as_deref().map(scanner::finding::normalise_statement).unwrap_or_else(|| message.clone());
                let n = occurrences.entry((rule.clone(), path.clone(), text.clone())).or_default();
                let occurrence = n.to_string();
                *n += 1;
                (
                    scanner::finding::digest(&[&run.tool.driver.name, &rule, &path, &text, &occurrence]),
                    Some(scanner::finding::digest(&[&run.tool.driver.name, &rule, &text, &occurrence])),
                )
            }
        };
        let conditional = result.properties.get("conditional").and_then(|v| v.as_bool()).unwrap_or(false);
        let suppressed = result.suppressions.iter().find_map(Suppression::reason);
        let fix = fix_of(&result.fixes, uri).map(sqlx::types::Json);
        // `unthread-scan --runs-at`'s; a value of another shape is left out, not an error.
        let runs_at = result.properties.get("runsAt").and_then(|v| serde_json::from_value(v.clone()).ok());
        // Kept to the scanner's bounds, whatever the log holds; one without a start is left out.
        let context = physical.context_region.as_ref().and_then(|c| {
            let start_line = u32::try_from(c.start_line?).ok().filter(|&line| line >= 1)?;
            let text = c.snippet.as_ref()?.text.as_deref()?;
            Some(scanner::finding::SourceContext::bounded(start_line, text.split('\n')))
        });
        findings.push(IncomingFinding {
            runs_at,
            context,
            fingerprint,
            content_fingerprint,
            rule,
            path,
            start_line,
            start_column,
            end_line,
            end_column,
            symbol,
            message,
            snippet,
            conditional,
            suppressed,
            fix,
        });
    }
    let files_scanned =
        run.properties.get("filesScanned").and_then(|v| v.as_i64()).and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
    Ok(ScanInput {
        coverage: Default::default(),
        target_id,
        revision,
        tool: run.tool.driver.name,
        tool_version: run.tool.driver.version,
        complete,
        files_scanned,
        unread_files,
        findings,
        api_index: None,
        imports: None,
        finished_at: None,
        cause: None,
        scope: None,
        file_hashes: Default::default(),
        calls_out: None,
    })
}

/// The artifact's path relative to the scan root, `/`-separated, or why it cannot be one.
pub fn relative_path(uri: &str, root: Option<&str>) -> Result<String, String> {
    let decoded =
        percent_decode(uri).ok_or_else(|| format!("artifact URI {uri:?} is not valid percent-encoded UTF-8"))?;
    // ruff writes `file://` URIs; Semgrep, given an absolute target, writes plain absolute
    // paths. Both are made relative to the root they must lie in.
    let absolute = match decoded.strip_prefix("file://") {
        Some(absolute) => Some(absolute.strip_prefix("localhost").unwrap_or(absolute)),
        None if decoded.starts_with('/') => Some(decoded.as_str()),
        None => None,
    };
    let path = if let Some(absolute) = absolute {
        let root = root.ok_or_else(|| format!("{uri:?} is an absolute path: give the scan root to import it"))?;
        let root = root.trim_end_matches('/');
        absolute
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(|| format!("{uri:?} is outside the scan root {root:?}"))?
            .to_owned()
    } else if decoded.contains("://") {
        return Err(format!("artifact URI {uri:?} must be a file path under the scan root"));
    } else {
        decoded
    };
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() || parts.contains(&"..") || path.contains('\0') {
        return Err(format!("artifact URI {uri:?} leaves the scan root"));
    }
    Ok(parts.join("/"))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn paths_stay_inside_the_root() {
        assert_eq!(relative_path("pkg/a%20b.py", None).unwrap(), "pkg/a b.py");
        assert_eq!(relative_path("file:///repo/pkg/x.py", Some("/repo")).unwrap(), "pkg/x.py");
        assert_eq!(relative_path("./pkg//x.py", None).unwrap(), "pkg/x.py");
        // Semgrep given an absolute target writes plain absolute paths.
        assert_eq!(relative_path("/repo/pkg/x.py", Some("/repo/")).unwrap(), "pkg/x.py");
        for (uri, root) in [
            ("/etc/passwd", Some("/repo")),
            ("/repository/x.py", Some("/repo")),
            ("/repo/../etc/passwd", Some("/repo")),
            ("../../etc/passwd", None),
            ("pkg/../../etc/passwd", None),
            ("%2e%2e/%2e%2e/etc/passwd", None),
            ("/etc/passwd", None),
            ("file:///etc/passwd", Some("/repo")),
            ("file:///repository/x.py", Some("/repo")),
            ("file:///repo/x.py", None),
            ("https://evil.example/x.py", None),
            ("pkg/%ff.py", None),
            ("", None),
        ] {
            assert!(relative_path(uri, root).is_err(), "{uri:?} with root {root:?} must be refused");
        }
    }
}
