//! What a scan reports, as ingestion takes it: the findings and the facts of the run, from
//! `unthread-scan` in process, an imported SARIF log or an upload.

use serde::Serialize;

/// One finding as a scanner reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncomingFinding {
    pub fingerprint: String,
    pub content_fingerprint: Option<String>,
    pub rule: String,
    pub path: String,
    pub start_line: i32,
    pub start_column: i32,
    pub end_line: i32,
    pub end_column: i32,
    pub symbol: Option<String>,
    pub message: String,
    pub snippet: Option<String>,
    pub conditional: bool,
    /// Set when a comment in the source suppresses the finding: why (the comment's
    /// justification, or which comment). Ingestion triages it won't fix with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// The fix the scan offers (`findings.fix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<sqlx::types::Json<crate::views::FixView>>,
    /// When its code runs (`findings.runs_at`, `runs_at_path`), when the scan says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_at: Option<scanner::finding::RunsAtPath>,
    /// Its lines and those around them, as the scan read them (`findings.context`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<scanner::finding::SourceContext>,
}

/// A finished scan of one target.
#[derive(Clone, Debug)]
pub struct ScanInput {
    pub target_id: i64,
    /// Commit sha or version.
    pub revision: Option<String>,
    pub tool: String,
    pub tool_version: Option<String>,
    /// False when the run did not finish (killed, timed out): nothing is marked fixed.
    pub complete: bool,
    pub files_scanned: i32,
    /// Files the scan could not read, with why: their findings are left alone.
    pub unread_files: Vec<(String, String)>,
    pub findings: Vec<IncomingFinding>,
    /// The target's own thread-local-backed APIs, for scans of its dependents.
    pub api_index: Option<scanner::ApiIndex>,
    /// What each of the target's modules imports (reachability of dependency findings).
    pub imports: Option<scanner::imports::ImportIndex>,
    /// When the scan ran, for importing past scans (the demo's history); `None` is now.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the scan read but could not analyse whole (`scans.coverage`).
    pub coverage: ScanCoverage,
    /// Why this scan happened, when that explains what it fixes: "bumping django-crum 0.7.9 →
    /// 0.8.0 in requirements/edx/base.txt at <commit> of openedx/openedx-platform".
    pub cause: Option<String>,
    /// Set when the scan read only some files of the target on purpose (`scans.scope_paths`).
    pub scope: Option<ScanScope>,
    /// A hash of each file read, by path (`findings.file_hash`): a finding no longer reported
    /// in a file whose hash did not change went with a change of the rules, not of the code.
    /// Empty when the producer gave none (a SARIF log).
    pub file_hashes: std::collections::HashMap<String, i64>,
    /// What its request- and worker-time code calls in other packages (`scans.calls_out`);
    /// `None` when the scan did not look (no call graph, a SARIF log).
    pub calls_out: Option<Vec<scanner::finding::CallOut>>,
}

/// The files a scan read when it read only some of its target, and why ("the files the
/// epic's items point at"). Findings in other files are neither fixed nor seen by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ScanScope {
    pub paths: Vec<String>,
    pub why: String,
}

/// What a scan read without analysing it whole — besides the files it did not read at all
/// (`unread_files`) — so that "nothing found" never means "not looked at".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ScanCoverage {
    /// Files with syntax errors: findings come from the parts that parsed.
    #[serde(default)]
    pub partially_parsed: Vec<String>,
    /// (path, line) of imports of a module by a computed name: what they import is not
    /// followed.
    #[serde(default)]
    pub computed_imports: Vec<(String, u32)>,
}

impl ScanCoverage {
    /// The most places of each kind stored (the counts are complete).
    pub const MAX_LISTED: usize = 200;

    pub fn of(report: &scanner::ScanReport) -> Self {
        ScanCoverage {
            partially_parsed: report.partially_parsed().map(|f| f.path.clone()).collect(),
            computed_imports: report
                .files
                .iter()
                .flat_map(|f| f.computed_imports.iter().map(|line| (f.path.clone(), *line)))
                .collect(),
        }
    }
}

/// `findings.runs_at_path` as stored: written from a scan's [`IncomingFinding`], read by the
/// finding's page and by re-ingestion (the demo's snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunsAtPathColumn<'a> {
    #[serde(default)]
    pub why: std::borrow::Cow<'a, str>,
    #[serde(default)]
    pub path: std::borrow::Cow<'a, [String]>,
    /// Functions on the way that nothing in the package calls (when it is unknown).
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub open_ends: std::borrow::Cow<'a, [String]>,
}

/// [`RunsAtPathColumn`] read from the database (owned).
pub type StoredRunsAtPath = RunsAtPathColumn<'static>;

/// What recording a scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestSummary {
    pub scan_id: i64,
    /// True when these exact results were already the target's latest scan: nothing changed.
    pub already_ingested: bool,
    pub new: i64,
    pub seen: i64,
    pub renamed: i64,
    pub reopened: i64,
    pub fixed: i64,
}

impl IncomingFinding {
    /// A digest of everything stored about the finding but its fingerprint: a finding seen
    /// again with the same digest needs no rewrite beyond `last_seen_scan`.
    pub fn details_digest(&self) -> i64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for text in [&self.content_fingerprint, &self.symbol, &self.snippet] {
            hash_field(&mut hasher, text.as_deref().map_or(&[0xff_u8][..], str::as_bytes));
        }
        for text in [&self.rule, &self.path, &self.message] {
            hash_field(&mut hasher, text.as_bytes());
        }
        for n in [self.start_line, self.start_column, self.end_line, self.end_column, i32::from(self.conditional)] {
            hash_field(&mut hasher, &n.to_le_bytes());
        }
        // Without a fix (or a runs-at) the digest is what it was before they were stored.
        if let Some(fix) = self.fix_json() {
            hash_field(&mut hasher, fix.as_bytes());
        }
        if let Some(path) = self.runs_at_path_json() {
            hash_field(&mut hasher, self.runs_at_text().unwrap_or_default().as_bytes());
            hash_field(&mut hasher, path.as_bytes());
        }
        // The lines around it changed: its page must show them as they are now.
        if let Some(context) = self.context_json() {
            hash_field(&mut hasher, context.as_bytes());
        }
        hasher.digest() as i64
    }

    /// `findings.runs_at`.
    pub fn runs_at_text(&self) -> Option<&'static str> {
        self.runs_at.as_ref().map(|r| r.at.as_str())
    }

    /// `findings.runs_at_path`: why, and the call path.
    pub fn runs_at_path_json(&self) -> Option<String> {
        let runs_at = self.runs_at.as_ref()?;
        let column = RunsAtPathColumn {
            why: runs_at.why.as_str().into(),
            path: runs_at.path.as_slice().into(),
            open_ends: runs_at.open_ends.as_slice().into(),
        };
        serde_json::to_string(&column).ok()
    }

    /// `findings.context`.
    pub fn context_json(&self) -> Option<String> {
        self.context.as_ref().and_then(|context| serde_json::to_string(context).ok())
    }

    /// The fix as the JSON `findings.fix` stores.
    pub fn fix_json(&self) -> Option<String> {
        self.fix.as_ref().and_then(|fix| serde_json::to_string(&fix.0).ok())
    }
}

/// Length-prefixed, so that field boundaries count.
fn hash_field(hasher: &mut xxhash_rust::xxh3::Xxh3, bytes: &[u8]) {
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// The most findings one file records: more is a generated or hostile file (3,000 findings
/// on one line), recorded as not read, its earlier findings left as they were.
pub const MAX_FINDINGS_PER_FILE: usize = 2_000;
/// The most findings one scan records; the files past it (in path order) are not read.
pub const MAX_FINDINGS_PER_SCAN: usize = 250_000;
/// The longest snippet stored (in characters), whatever the scanner or SARIF log gave.
pub const MAX_SNIPPET_CHARS: usize = 400;

impl ScanInput {
    /// This input within the limits above: unchanged (borrowed) in every ordinary scan; for
    /// one past them, a copy whose files over the caps are unread, with the reason (as a file
    /// that did not parse: the target's page lists it, and nothing in it is fixed or added),
    /// and whose long snippets are cut and marked `…`.
    pub fn within_limits(&self) -> std::borrow::Cow<'_, ScanInput> {
        let mut per_file: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for finding in &self.findings {
            *per_file.entry(finding.path.as_str()).or_default() += 1;
        }
        let mut dropped: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        let mut total = 0usize;
        for (path, count) in per_file {
            if count > MAX_FINDINGS_PER_FILE {
                dropped.insert(
                    path.to_owned(),
                    format!("{count} findings, over the limit of {MAX_FINDINGS_PER_FILE} a file: none recorded"),
                );
            } else if total + count > MAX_FINDINGS_PER_SCAN {
                dropped.insert(
                    path.to_owned(),
                    format!(
                        "the scan reached its limit of {MAX_FINDINGS_PER_SCAN} findings: this file's are not recorded"
                    ),
                );
            } else {
                total += count;
            }
        }
        let long_snippet = |f: &IncomingFinding| f.snippet.as_ref().is_some_and(|s| s.len() > MAX_SNIPPET_CHARS);
        if dropped.is_empty() && !self.findings.iter().any(long_snippet) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut bounded = self.clone();
        bounded.findings.retain(|f| !dropped.contains_key(&f.path));
        for finding in &mut bounded.findings {
            if let Some(snippet) = finding.snippet.as_mut().filter(|s| s.chars().count() > MAX_SNIPPET_CHARS) {
                *snippet = snippet.chars().take(MAX_SNIPPET_CHARS).chain(std::iter::once('…')).collect();
            }
        }
        bounded.unread_files.extend(dropped);
        std::borrow::Cow::Owned(bounded)
    }

    pub(super) fn status(&self) -> &'static str {
        if !self.complete {
            "partial"
        } else {
            "complete"
        }
    }

    /// Identifies these results, so that ingesting them twice is recognised. (XXH3-128: it
    /// only has to tell scans apart, and hashes a 100,000-finding scan in milliseconds.)
    pub(super) fn digest(&self) -> String {
        let mut findings: Vec<&IncomingFinding> = self.findings.iter().collect();
        findings.sort_unstable_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        let mut unread: Vec<&(String, String)> = self.unread_files.iter().collect();
        unread.sort();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for text in [self.status(), self.revision.as_deref().unwrap_or(""), &self.tool] {
            hash_field(&mut hasher, text.as_bytes());
        }
        for f in findings {
            hash_field(&mut hasher, f.fingerprint.as_bytes());
            hash_field(&mut hasher, &f.details_digest().to_le_bytes());
            // A comment added elsewhere (`ignore-file`) changes no detail of the finding.
            hash_field(&mut hasher, f.suppressed.as_deref().map_or(&[0xff_u8][..], str::as_bytes));
        }
        for (path, reason) in unread {
            hash_field(&mut hasher, path.as_bytes());
            hash_field(&mut hasher, reason.as_bytes());
        }
        // The same findings read from fewer files is another scan (a whole scan's digest is
        // unchanged by this).
        if let Some(scope) = &self.scope {
            hash_field(&mut hasher, scope.why.as_bytes());
            for path in &scope.paths {
                hash_field(&mut hasher, path.as_bytes());
            }
        }
        // Same findings with other imports is a change reachability must see.
        if let Some(imports) = &self.imports {
            hash_field(&mut hasher, serde_json::to_string(imports).unwrap_or_default().as_bytes());
        }
        // So is a change of what its code calls elsewhere (other targets' runs-at).
        if let Some(calls) = &self.calls_out {
            hash_field(&mut hasher, serde_json::to_string(calls).unwrap_or_default().as_bytes());
        }
        format!("xxh3:{:032x}", hasher.digest128())
    }
}

impl From<&scanner::Finding> for IncomingFinding {
    fn from(f: &scanner::Finding) -> Self {
        let clamp = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            fingerprint: f.fingerprint.clone(),
            content_fingerprint: Some(f.content_fingerprint.clone()),
            rule: f.rule.clone(),
            path: f.path.clone(),
            start_line: clamp(f.start.line),
            start_column: clamp(f.start.column),
            end_line: clamp(f.end.line),
            end_column: clamp(f.end.column),
            symbol: Some(f.symbol.clone()),
            message: f.message.clone(),
            snippet: Some(f.line_text.clone()),
            conditional: f.conditional,
            suppressed: f.suppression.as_ref().map(scanner::suppression::Suppression::reason),
            fix: f.fix.as_ref().map(|fix| sqlx::types::Json(fix_view(fix))),
            runs_at: f.runs_at.clone(),
            context: f.context.clone(),
        }
    }
}

/// A scanner fix as stored: its edits' regions (byte offsets mean nothing off the scanned
/// file).
pub fn fix_view(fix: &scanner::fix::Fix) -> crate::views::FixView {
    crate::views::FixView {
        message: fix.message.clone(),
        applicability: fix.applicability.as_str().to_owned(),
        edits: fix
            .edits
            .iter()
            .map(|e| crate::views::FixEdit {
                start_line: e.start_position.line,
                start_column: e.start_position.column,
                end_line: e.end_position.line,
                end_column: e.end_position.column,
                content: e.content.clone(),
            })
            .collect(),
    }
}

impl ScanInput {
    /// A finished in-process scan of `target_id` at `revision`.
    pub fn from_report(target_id: i64, revision: Option<String>, report: &scanner::ScanReport) -> Self {
        Self {
            target_id,
            revision,
            tool: "unthread-scan".to_owned(),
            tool_version: Some(report.scanner_version.clone()),
            complete: true,
            files_scanned: i32::try_from(report.files_scanned()).unwrap_or(i32::MAX),
            unread_files: report
                .files_failed()
                .map(|f| (f.path.clone(), f.problem.as_ref().map(ToString::to_string).unwrap_or_default()))
                .collect(),
            findings: report.findings.iter().map(IncomingFinding::from).collect(),
            api_index: Some(report.api_index.clone()),
            imports: (!report.imports.modules.is_empty()).then(|| report.imports.clone()),
            coverage: ScanCoverage::of(report),
            finished_at: None,
            cause: None,
            scope: None,
            // The hash's 64 bits, stored as Postgres' signed bigint.
            file_hashes: report.files.iter().filter_map(|f| Some((f.path.clone(), f.content_hash? as i64))).collect(),
            calls_out: report.calls_out.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_runs_at_path_reads_back_as_written() {
        let runs_at = scanner::finding::RunsAtPath {
            at: scanner::finding::RunsAt::Request,
            why: "a view".into(),
            path: vec!["app.views.page".into(), "app.state.remember".into()],
            open_ends: Vec::new(),
        };
        let finding = IncomingFinding {
            runs_at: Some(runs_at),
            fingerprint: "f".into(),
            content_fingerprint: None,
            rule: "UT010".into(),
            path: "app/state.py".into(),
            start_line: 1,
            start_column: 1,
            end_line: 1,
            end_column: 2,
            symbol: None,
            message: String::new(),
            snippet: None,
            conditional: false,
            suppressed: None,
            fix: None,
            context: None,
        };
        let json = finding.runs_at_path_json().unwrap();
        // The form the column has held since it was added (a finding's digest covers it).
        assert_eq!(json, r#"{"why":"a view","path":["app.views.page","app.state.remember"]}"#);
        let stored: StoredRunsAtPath = serde_json::from_str(&json).unwrap();
        assert_eq!((stored.why.as_ref(), stored.path.len()), ("a view", 2));
        let empty: StoredRunsAtPath = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, StoredRunsAtPath::default());
        // An unknown time keeps the functions nothing in its package calls.
        let mut unknown = finding.clone();
        unknown.runs_at = Some(scanner::finding::RunsAtPath {
            at: scanner::finding::RunsAt::Unknown,
            why: "no caller in its package (called from outside it)".into(),
            path: vec!["app.api.public".into()],
            open_ends: vec!["app.api.public".into()],
        });
        let stored: StoredRunsAtPath = serde_json::from_str(&unknown.runs_at_path_json().unwrap()).unwrap();
        assert_eq!(stored.open_ends.as_ref(), ["app.api.public"]);
    }
}
