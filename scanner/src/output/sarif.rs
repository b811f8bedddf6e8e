//! SARIF 2.1.0 output, for code-scanning tools and Unthread's server. Typed, so that writing
//! it builds no intermediate JSON tree; fields are in alphabetical order, as
//! `serde_json::Value` wrote them.
//!
//! Every finding of the selected rules is a result: a suppressed one carries `suppressions`
//! (`inSource`, with the comment's justification), and against a baseline each carries its
//! `baselineState` (`new` or `unchanged`), so that a server receiving the log still sees
//! the whole tree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{level, path_to_uri, CONTENT_FINGERPRINT_KEY, FINGERPRINT_KEY};
use crate::{
    baseline::Baseline,
    finding::FileProblem,
    rules::{catalogue, Rule},
    scan::{ScanReport, SCANNER_VERSION},
};

/// The report as a SARIF 2.1.0 log with one run; with a baseline, each result says whether
/// it is new.
pub fn log<'r>(report: &'r ScanReport, baseline: Option<&Baseline>) -> Log<'r> {
    let rules: Vec<&Rule> = catalogue().collect();
    let index_of: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let all: Vec<&crate::Finding> = report.findings.iter().collect();
    let known = baseline.map(|b| b.known(&all));
    let results = report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rule_index = index_of.get(f.rule.as_str()).copied().unwrap_or(0);
            result(f, rule_index, known.as_ref().map(|k| if k[i] { "unchanged" } else { "new" }))
        })
        .collect();
    let notifications = report
        .files
        .iter()
        .filter_map(|file| {
            let problem = file.problem.as_ref()?;
            let (id, level) = match problem {
                FileProblem::PartiallyParsed => (super::FILE_PARTIALLY_PARSED, "warning"),
                FileProblem::ExtensionModule => (super::FILE_NOT_READ, "note"),
                _ => (super::FILE_NOT_READ, "error"),
            };
            Some(Notification {
                descriptor: Descriptor { id },
                level,
                locations: [NotificationLocation {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation::of(&file.path),
                        context_region: None,
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
            original_uri_base_ids: None,
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

/// One finding as a result of the log (`rule_index`: its rule's place in the catalogue).
fn result<'r>(f: &'r crate::Finding, rule_index: usize, baseline_state: Option<&'static str>) -> SarifResult<'r> {
    SarifResult {
        baseline_state,
        fixes: f.fix.as_ref().map(|fix| {
            [SarifFix {
                artifact_changes: [ArtifactChange {
                    artifact_location: ArtifactLocation::of(&f.path),
                    replacements: fix
                        .edits
                        .iter()
                        .map(|edit| Replacement {
                            deleted_region: ReplacedRegion {
                                end_column: edit.end_position.column,
                                end_line: edit.end_position.line,
                                start_column: edit.start_position.column,
                                start_line: edit.start_position.line,
                            },
                            inserted_content: (!edit.content.is_empty()).then_some(Text { text: &edit.content }),
                        })
                        .collect(),
                }],
                description: Text { text: &fix.message },
                properties: FixProperties { applicability: fix.applicability.as_str() },
            }]
        }),
        level: level(f.severity),
        locations: [Location {
            logical_locations: [LogicalLocation { fully_qualified_name: &f.symbol }],
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation::of(&f.path),
                context_region: f.context.as_ref().map(|context| ContextRegion {
                    end_line: context.end_line(),
                    snippet: OwnedText { text: context.lines.join("\n") },
                    start_line: context.start_line,
                }),
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
        properties: (f.conditional || f.runs_at.is_some())
            .then_some(ResultProperties { conditional: f.conditional, runs_at: f.runs_at.as_ref() }),
        related_locations: f
            .also_on_lines
            .iter()
            .enumerate()
            .map(|(id, &line)| RelatedLocation {
                id: id + 1,
                message: OwnedText { text: "another place of this finding".to_owned() },
                physical_location: RelatedPhysicalLocation {
                    artifact_location: ArtifactLocation::of(&f.path),
                    region: LineRegion { start_line: line },
                },
            })
            .collect(),
        rule_id: &f.rule,
        rule_index,
        suppressions: f
            .suppression
            .as_ref()
            .map(|s| [Suppression { justification: s.reason(), kind: "inSource", status: "accepted" }]),
    }
}

/// A log too long to hold in memory, written as it is read: the text before its results and
/// the text after them (`report`'s findings are left out), and [`result_text`] for each
/// result in between, separated by commas.
pub fn envelope(report: &ScanReport) -> (String, String) {
    let empty = ScanReport { findings: Vec::new(), ..report.clone() };
    let text = serde_json::to_string(&log(&empty, None)).expect("a log always serialises");
    let (before, after) = text.split_once(r#""results":[]"#).expect("a log has its results");
    (format!(r#"{before}"results":["#), format!("]{after}"))
}

/// One finding as the log's result, in JSON.
pub fn result_text(finding: &crate::Finding) -> String {
    let rule_index = catalogue().position(|r| r.id == finding.rule).unwrap_or(0);
    serde_json::to_string(&result(finding, rule_index, None)).expect("a result always serialises")
}

/// The base every artifact's `uri` is relative to: the root of what was scanned.
pub const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
pub struct UriBase {
    /// A `file://` URI ending in `/`.
    pub uri: String,
}

impl<'r> Log<'r> {
    /// Says where `%SRCROOT%` is: `root`, an absolute directory.
    pub fn with_source_root(mut self, root: &std::path::Path) -> Self {
        let mut uri = String::from("file://");
        for segment in root.to_string_lossy().split('/').filter(|s| !s.is_empty()) {
            uri.push('/');
            uri.push_str(&path_to_uri(segment));
        }
        uri.push('/');
        self.runs[0].original_uri_base_ids = Some(BTreeMap::from([(SRCROOT, UriBase { uri })]));
        self
    }
}

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
    /// Where `%SRCROOT%` is (the directory the paths are relative to), when known: the
    /// linter says; a server's baseline does not (its paths are the repository's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_uri_base_ids: Option<BTreeMap<&'static str, UriBase>>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_state: Option<&'static str>,
    /// The finding's fix (`unthread-scan --fix`), with its safety in `properties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixes: Option<[SarifFix<'r>; 1]>,
    pub level: &'static str,
    pub locations: [Location<'r>; 1],
    pub message: Text<'r>,
    pub partial_fingerprints: PartialFingerprints<'r>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<ResultProperties<'r>>,
    /// The finding's other places (UT010: the writes of the global it reports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<RelatedLocation>,
    pub rule_id: &'r str,
    pub rule_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<[Suppression; 1]>,
}

/// Another line of a result's file where the same hazard is.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedLocation {
    pub id: usize,
    pub message: OwnedText,
    pub physical_location: RelatedPhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedPhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: LineRegion,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineRegion {
    pub start_line: u32,
}

/// A proposed fix: its edits of one file, as regions of the original text and what replaces
/// them (an empty region inserts).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifFix<'r> {
    pub artifact_changes: [ArtifactChange<'r>; 1],
    pub description: Text<'r>,
    pub properties: FixProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactChange<'r> {
    pub artifact_location: ArtifactLocation,
    pub replacements: Vec<Replacement<'r>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replacement<'r> {
    pub deleted_region: ReplacedRegion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inserted_content: Option<Text<'r>>,
}

/// Lines and columns are 1-based; the end is the character after the region (SARIF's
/// convention), so an insertion's region is empty.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplacedRegion {
    pub end_column: u32,
    pub end_line: u32,
    pub start_column: u32,
    pub start_line: u32,
}

/// `safe` (applied by `--fix`) or `unsafe` (only with `--unsafe-fixes`).
#[derive(Serialize)]
pub struct FixProperties {
    #[serde(rename = "unthread/applicability")]
    pub applicability: &'static str,
}

/// A finding marked as intended by a comment in the source.
#[derive(Serialize)]
pub struct Suppression {
    pub justification: String,
    pub kind: &'static str,
    pub status: &'static str,
}

#[derive(Serialize)]
pub struct ResultProperties<'r> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// When the finding's code runs (`--runs-at`): `request`, `worker`, `start-up`, `tests`,
    /// `unknown`, why, and the call path from the entry point.
    #[serde(rename = "runsAt", skip_serializing_if = "Option::is_none")]
    pub runs_at: Option<&'r crate::finding::RunsAtPath>,
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
    /// The finding's lines with the lines around them (SARIF's `contextRegion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_region: Option<ContextRegion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region<'r>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRegion {
    pub end_line: u32,
    pub snippet: OwnedText,
    pub start_line: u32,
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
        ArtifactLocation { uri: path_to_uri(path), uri_base_id: SRCROOT }
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
