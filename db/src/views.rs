//! What the models hand the pages: plain data, serialisable (server functions send it).
//! Built by the models on the server, shown by the pages' components.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::kinds::{FindingState, ScanStatus, TargetKind, Triage};
pub use crate::progress::Progress;

/// A finding as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    pub id: i64,
    pub rule: String,
    pub target: String,
    pub target_kind: TargetKind,
    pub path: String,
    pub line: i32,
    pub symbol: Option<String>,
    pub snippet: Option<String>,
    /// Where it stands for progress (`finding_progress`); `None` for a context variable
    /// (UT100) that went away, which counts nowhere.
    pub state: Option<FindingState>,
    pub triage: Triage,
    pub owner: Option<String>,
    /// The owner's claim is on the whole target, not this finding.
    pub owner_through_target: bool,
    /// The owner is a simulated person (the demo's, a development account).
    pub owner_simulated: bool,
}

/// The longest search text the explorer takes (a path and a symbol fit; longer costs the
/// database without finding more).
pub const MAX_SEARCH_CHARS: usize = 200;

/// `FindingFilter::reached` value for findings in modules tracked code imports or whose
/// reachability is not known — all but those known to be unreached (the explorer's default).
pub const REACHED_OR_UNKNOWN: &str = "not_no";

/// The explorer's filters; every one is a URL query parameter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingFilter {
    pub target: Option<String>,
    pub kind: Option<String>,
    pub rule: Option<String>,
    pub triage: Option<String>,
    pub owner: Option<String>,
    pub unowned: bool,
    /// `open` (default), `fixed`, `triaged_away`, `migrated` or `all`.
    pub state: Option<String>,
    /// A substring of the path, symbol or snippet (at most [`MAX_SEARCH_CHARS`]).
    pub text: Option<String>,
    /// `yes`: in a module the tracked repositories' non-test code imports (directly or through
    /// other targets); `no`: known not to be; `unknown`: its target has no import index yet;
    /// [`REACHED_OR_UNKNOWN`]: all but `no`.
    pub reached: Option<String>,
    /// `yes`: a GitHub issue or pull request names the finding (a link of its own); `no`:
    /// none does — found, but nobody filed it.
    pub filed: Option<String>,
    /// The owner team of the finding's repository.
    pub team: Option<String>,
    /// Test code is out of the scope: absent leaves it out, `yes` includes it, `only` shows
    /// nothing else.
    pub tests: Option<String>,
    /// When the finding's code runs (`findings.runs_at`); `none`: not analysed.
    pub runs_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingPage {
    pub rows: Vec<FindingRow>,
    /// The id to continue after, when there is more.
    pub next_after: Option<i64>,
    pub total: i64,
    pub by_rule: Vec<FacetCount>,
    pub by_kind: Vec<FacetCount>,
    pub by_owner: Vec<FacetCount>,
    /// `yes`, `no`, `unknown` (see [`FindingFilter::reached`]).
    pub by_reached: Vec<FacetCount>,
    /// `code` and `tests`: what the other filters match in and out of test code.
    pub by_code: Vec<FacetCount>,
    /// When the findings' code runs: `request`, `worker`, `start-up`, `tests`, `unknown`, and
    /// `none` (not analysed).
    pub by_runs_at: Vec<FacetCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GitHubLink {
    /// `issue` or `pull`.
    pub kind: String,
    pub repository: String,
    pub number: i32,
    pub title: String,
    /// `open`, `closed`, `merged` or `draft`.
    pub state: String,
    pub url: String,
    pub assignees: Vec<String>,
    /// How it was linked: explicit, mention, path, sub_issue, manual.
    pub how: String,
    /// What the link says about the finding or target.
    pub scope: LinkScope,
    /// The link's id (a maintainer can detach it).
    pub link_id: i64,
    /// A merged pull request that changed the finding's file, and a scan after its merge
    /// still sees the finding: the pull request kept it.
    pub kept: bool,
}

/// What a link claims (`links.how` read with `link_names_finding()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LinkScope {
    /// The item names this finding: its URL, its path and symbol, a permalink to its lines,
    /// or a maintainer linked it. The finding is filed.
    Finding,
    /// A pull request changed the finding's file: evidence that someone touched it, not a
    /// claim that it addresses the finding.
    Touched,
    /// The item is about the repository or package as a whole (a sub-issue filed there, or a
    /// maintainer's link to the target), not this finding.
    Target,
}

impl std::str::FromStr for LinkScope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "finding" => Ok(LinkScope::Finding),
            "touched" => Ok(LinkScope::Touched),
            "target" => Ok(LinkScope::Target),
            other => Err(format!("unknown link scope {other:?}")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub kind: String,
    /// A sentence saying what happened.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingDetail {
    pub row: FindingRow,
    pub target_id: i64,
    pub end_line: i32,
    pub column: i32,
    pub message: String,
    pub conditional: bool,
    pub triage_reason: Option<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub fixed_at: Option<DateTime<Utc>>,
    /// Who GitHub says works on it (assignees of linked open issues and PRs).
    pub github_assignees: Vec<String>,
    /// How its file is imported by tracked code: the chain (`owner/repo:module`, then each
    /// module); empty when known not to be; `None` when not known yet.
    pub reach: Option<Vec<String>>,
    /// A dependency's newest checked release, and whether that release no longer has it.
    pub newest_release: Option<(String, bool)>,
    /// Call evidence beside the import chain: open UT011 calls in other targets of its
    /// target's thread-local-backed APIs, and in how many targets.
    pub calls_elsewhere: (i64, i64),
    pub github: Vec<GitHubLink>,
    pub history: Vec<HistoryEntry>,
    /// The fix its last scan offered, if any.
    pub fix: Option<FixView>,
    /// When its code runs, as its last scan found (`None`: not analysed).
    pub runs_at: Option<RunsAtView>,
    /// More urgently, through other code: a thread local's holder reached by other targets'
    /// calls of its APIs (`findings.runs_at_via`), with the call.
    pub runs_at_via: Option<RunsAtView>,
    /// A shared-object write (UT013) no request or task is known to make (`unplaced_write()`
    /// in the migrations): left out of the pages' counts by default.
    pub unplaced_write: bool,
    /// Its lines and those around them, as its last scan read them (`None`: not given).
    pub context: Option<SourceLines>,
}

/// Lines of a file as a scan read them (`findings.context`): the first one's number, and the
/// lines (long ones cut, marked `…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLines {
    pub start_line: u32,
    pub lines: Vec<String>,
}

/// When a finding's code runs (`findings.runs_at`, `runs_at_path`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsAtView {
    /// `request`, `worker`, `start-up`, `tests` or `unknown`.
    pub at: String,
    /// What the entry point is, or why none was found.
    pub why: String,
    /// Qualified names from the entry point to the finding's function.
    #[serde(default)]
    pub path: Vec<String>,
}

/// A fix a scan offers for a finding (`unthread-scan --fix`; stored as `findings.fix`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixView {
    /// What it does ("Remove the unused import `threading`").
    pub message: String,
    /// `safe` (applied by `--fix`) or `unsafe` (only with `--unsafe-fixes`).
    pub applicability: String,
    pub edits: Vec<FixEdit>,
}

/// Replaces the region `start..end` of the scanned file (1-based lines and columns, the end
/// being the character after the region) with `content`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixEdit {
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub content: String,
}

/// A repository or dependency as the `/repos` and `/deps` tables show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub id: i64,
    pub name: String,
    pub kind: TargetKind,
    pub progress: Progress,
    /// How its last finished scan went; `None`: never scanned (nothing about it is known).
    pub last_scan_status: Option<ScanStatus>,
    /// Files its last scan could not read (a partial scan).
    pub files_failed: i32,
    /// Set when its last scan read only some of its files on purpose: progress is about
    /// those files, not the whole repository.
    pub scope: Option<ScopeNote>,
    /// Open GitHub issues about it (sub-issues filed in its repository, issues linked to it
    /// or its findings): a target with open items never looks finished.
    pub epic_items_open: i64,
    /// Everyone owning the target or one of its open findings.
    pub owners: Vec<String>,
    pub open_pulls: i64,
    pub last_scan_at: Option<DateTime<Utc>>,
    /// Commit (repositories) or version (dependencies) of the last scan.
    pub last_revision: Option<String>,
    /// Dependencies: the pinned versions.
    pub pinned: Vec<String>,
    /// Dependencies: the packages and requirement files that pull it in.
    pub pulled_in_by: Vec<String>,
    /// Dependencies: how many repositories reach it through their requirements.
    pub blocks_repositories: i64,
    /// Open findings in modules tracked code imports, and in modules it does not; `None`
    /// while the target has no import index.
    pub open_reached: Option<(i64, i64)>,
    /// Findings in scope (open, fixed, triaged away) left out of `progress` because their
    /// modules are not imported by tracked code (0 when the page counts everything).
    #[serde(default)]
    pub left_out: i64,
    /// Open rule UT011 findings in other targets calling its thread-local-backed APIs (what
    /// migrating it would clear), and in how many targets.
    pub impact: (i64, i64),
    /// Open UT011 calls in other targets whose chain ends at one of its thread locals,
    /// through any package's API: what it is the root cause of
    /// (`db::models::impact::root_calls_by_target`).
    #[serde(default)]
    pub root_calls: i64,
}

/// What changed in a stretch of time, in the scope every page counts (every rule but UT100,
/// outside test code): findings first seen and fixed by scans finished in it, triage
/// decisions and claims made in it (`db::models::progress::changes_between`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub new: i64,
    pub fixed: i64,
    pub triaged: i64,
    pub claims: i64,
}

/// How much of a target a scan that read only some of it read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeNote {
    pub files: i32,
    pub why: String,
}

impl ScopeNote {
    /// "5 files of openedx/openedx-platform (the files the epic's items point at), not the
    /// whole repository": said wherever the target's progress is shown.
    pub fn sentence(&self, target: &str) -> String {
        let files = if self.files == 1 { "1 file".to_owned() } else { format!("{} files", self.files) };
        format!("{files} of {target} ({}), not the whole repository", self.why)
    }
}

/// Upgrade advice for a dependency with open findings (`db::models::upgrades`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpgradeAdvice {
    /// The scanned (pinned) version, and the index's newest release when checked.
    pub pinned: Option<String>,
    pub newest: Option<String>,
    pub checked_at: DateTime<Utc>,
    /// Its open findings now.
    pub open: i64,
    /// The scanned newer releases: the newest of the pinned major first, then the newest.
    pub options: Vec<UpgradeOption>,
    /// Its GitHub repository, from the newest release's metadata.
    pub upstream: Option<String>,
    /// Open findings the newest release still has (for an upstream issue).
    pub still_in_newest: Vec<UpstreamFinding>,
}

/// A dependency whose pin a bump would move past open findings (`/contribute`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BumpItem {
    pub target_id: i64,
    pub name: String,
    pub pinned: Option<String>,
    pub version: String,
    pub clears: i64,
    pub open: i64,
    pub requires_python: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpgradeOption {
    pub version: String,
    pub newest: bool,
    pub newest_in_major: bool,
    /// Open findings of the pinned version this release no longer has.
    pub clears: i64,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamFinding {
    pub id: i64,
    pub rule: String,
    pub path: String,
    pub line: i32,
    pub message: String,
}

/// One thread-local-backed API of a dependency, and who calls it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiImpact {
    pub qualname: String,
    /// `function`, `class`, `instance`; empty for a name only callers still use.
    pub kind: String,
    /// From the API to the thread-local holder.
    pub chain: Vec<String>,
    pub path: String,
    pub line: u32,
    /// Open UT011 findings calling it.
    pub calls: i64,
    pub callers: Vec<ApiCaller>,
}

/// The calls of one API from one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiCaller {
    pub target: String,
    pub kind: TargetKind,
    pub calls: i64,
    /// One of the findings (the first), to link to.
    pub example: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileBreakdown {
    pub path: String,
    pub open: i64,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleCount {
    pub rule: String,
    pub name: String,
    pub progress: Progress,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub package: String,
    pub version: Option<String>,
    pub open: i64,
    pub chain: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetDetail {
    pub summary: TargetSummary,
    /// Its thread locals that open calls elsewhere end at (`db::models::impact::root_holders`).
    #[serde(default)]
    pub root_holders: Vec<RootHolder>,
    /// Its thread-local-backed APIs with their callers elsewhere, most called first.
    pub apis: Vec<ApiImpact>,
    /// Dependencies whose releases were checked: what a newer one would clear.
    pub upgrade: Option<UpgradeAdvice>,
    pub owner: Option<String>,
    pub files: Vec<FileBreakdown>,
    pub rules: Vec<RuleCount>,
    pub github: Vec<GitHubLink>,
    pub blockers: Vec<Blocker>,
    /// Files its last scan could not read, and why (a partial scan says which), at most 50.
    pub unread_files: Vec<(String, String)>,
    /// What its last scan read without analysing whole; `None` when the scan did not say.
    pub coverage: Option<CoverageView>,
}

/// What a scan read without analysing it whole (`scans.coverage`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageView {
    /// Files with syntax errors (the first 200), and how many.
    #[serde(default)]
    pub partially_parsed: Vec<String>,
    #[serde(default)]
    pub partially_parsed_count: i64,
    /// Imports by a computed name: (path, line), the first 200, and how many.
    #[serde(default)]
    pub computed_imports: Vec<(String, u32)>,
    #[serde(default)]
    pub computed_imports_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BurndownPoint {
    pub day: chrono::NaiveDate,
    pub open: i64,
    /// Fixed so far (net of reopened).
    pub fixed: i64,
    /// Triaged away (false positive, won't fix) so far.
    pub triaged: i64,
}

impl BurndownPoint {
    /// Everything found so far: the scope line.
    pub fn scope(&self) -> i64 {
        self.open + self.fixed + self.triaged
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contributor {
    pub login: String,
    /// The local account's name (the demo's people are named "… (simulated)").
    pub name: Option<String>,
    /// A GitHub person with no account here: known from the pull requests they merged.
    pub github_only: bool,
    /// Open findings they own now.
    pub owned_open: i64,
    /// Findings fixed while they owned them, or by a merged pull request of theirs.
    pub fixed: i64,
}

/// What `/people/:login` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub login: String,
    pub name: Option<String>,
    /// `None`: a GitHub person with no account here (the author of a merged pull request
    /// that fixed findings, or the assignee of an epic item).
    pub role: Option<crate::kinds::Role>,
    /// Their merged pull requests linked to findings, and the GitHub items assigned to them.
    pub github: Vec<GitHubLink>,
    /// Whole targets they claimed: (name, kind).
    pub targets: Vec<(String, TargetKind)>,
    pub owned: Vec<FindingRow>,
    /// Fixed while they owned it, or by a merged pull request of theirs.
    pub fixed: Vec<FindingRow>,
    pub activity: Vec<HistoryEntry>,
}

/// What posting a weekly report did: `posted`, `updated` or `unchanged`, and the comment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostedReport {
    pub action: String,
    pub url: String,
}

// ---- /admin ---------------------------------------------------------------------------

/// An API token as maintainers see it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub targets: Vec<String>,
}

/// Jobs of one kind in one state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCount {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

/// One job on the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    /// The work it names, e.g. `scan_repository:openedx/edx-platform@<sha>`.
    pub key: Option<String>,
    pub state: String,
    pub priority: i32,
    /// Who or what asked: `push`, `sweep`, `maintainer:<login>`, ...
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub attempts: i64,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// What it is doing now, while it runs.
    pub step: Option<String>,
}

/// A GitHub webhook delivery and what it led to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    pub action: Option<String>,
    pub received_at: DateTime<Utc>,
    pub outcome: Option<String>,
}

/// A target's latest scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastScanView {
    pub target_id: i64,
    pub name: String,
    pub kind: TargetKind,
    /// Commit (repositories) or version (dependencies).
    pub revision: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
}

/// The latest GitHub sync run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRunView {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub requests: i32,
    pub error: Option<String>,
}

/// A job a rescan request queued (or found already queued for the same work: `folded`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub id: String,
    pub folded: bool,
}

/// An epic: an issue with sub-issues and no parent of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epic {
    pub repository: String,
    pub number: i32,
    pub title: String,
    pub state: String,
    pub html_url: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One item filed for the epic: a sub-issue, or a pull request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpicItem {
    pub repository: String,
    pub number: i32,
    pub title: String,
    pub html_url: String,
    pub is_pull: bool,
    /// `open`, `closed` (an issue), `merged` or `closed` (a pull request), `draft`.
    pub state: String,
    /// When it was closed or merged.
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Its last activity on GitHub (GitHub's `updated_at`: a comment, an edit, a label).
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Who GitHub says works on it.
    pub assignees: Vec<String>,
    /// The findings it names (`link_names_finding()`), open and fixed.
    pub open: i64,
    pub fixed: i64,
    /// A pull request: findings in the files it changed that it does not name (evidence),
    /// still open (kept, once the merge was scanned) and fixed.
    pub touched_open: i64,
    pub touched_fixed: i64,
    /// Targets it is about besides its own repository (a dependency it names, or one a
    /// maintainer attached it to).
    pub about: Vec<String>,
    /// Its text points at code (a permalink, or a Python file's path); an item that does not
    /// is about tooling or process, not a place.
    pub names_place: bool,
    /// Unthread has scanned the code of the item's repository.
    pub repository_scanned: bool,
    /// Its repository's last scan read only this many of its files (`scans.scope_paths`).
    pub scanned_files_only: Option<i32>,
    /// An issue's pull requests (`owner/repo#N`): those linked to a finding it names.
    pub pulls: Vec<String>,
}

/// Filed vs found for one repository or rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FiledFound {
    /// The target's name, or the rule.
    pub name: String,
    /// Findings in scope (every rule but UT100, outside test code; triaged away included):
    /// the total every page shows.
    pub found: i64,
    /// Of those, the ones a GitHub item names (`link_names_finding()`).
    pub filed: i64,
    /// Open findings nobody filed.
    pub open_unfiled: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FiledVsFound {
    pub total: Option<FiledFound>,
    /// Repositories and packages with findings, most open unfiled first.
    pub by_target: Vec<FiledFound>,
    pub by_rule: Vec<FiledFound>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// The campaign's target date, and who set it.
pub struct CampaignTarget {
    pub date: chrono::NaiveDate,
    pub label: Option<String>,
    pub set_by: String,
    pub set_at: chrono::DateTime<chrono::Utc>,
}

/// One line of recent activity, in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub sentence: String,
}

/// A team and its repositories, as `/teams` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamSummary {
    pub team: String,
    pub repositories: Vec<String>,
    pub progress: Progress,
    /// Who holds claims in its repositories.
    pub owners: Vec<String>,
    pub stale_claims: i64,
}

/// A claim with no activity for a while.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaleClaimRow {
    pub owner: String,
    /// A simulated person (the demo's, a development account).
    pub owner_simulated: bool,
    pub target: String,
    pub finding_id: Option<i64>,
    /// `rule in path` of a claimed finding; `None` for a whole target.
    pub what: Option<String>,
    pub claimed_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
}

/// A change as /changes, the REST API and the pages show it (`db::models::changes`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeView {
    pub id: i64,
    pub kind: crate::kinds::ChangeKind,
    pub state: crate::kinds::ChangeState,
    /// The repository the pull request is opened in (`owner/repo`).
    pub target: String,
    /// A fix change of every fixable finding of one rule.
    pub rule: Option<String>,
    pub unsafe_fixes: bool,
    /// A bump change: the dependency, its pinned and proposed versions, the file.
    pub dependency: Option<String>,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub requirements_path: Option<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub branch: Option<String>,
    pub pull_number: Option<i32>,
    pub pull_url: Option<String>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// The findings it addresses, with how many of them are fixed now (a rescan said so).
    pub findings: Vec<i64>,
    pub findings_fixed: i64,
}

impl ChangeView {
    /// What it does, in a few words: "Fix UT012", "Fix 3 findings", "Bump django-crum 0.7.9 → 0.8.0".
    pub fn subject(&self) -> String {
        match (self.kind, &self.rule, &self.dependency) {
            (crate::kinds::ChangeKind::Bump, _, Some(dependency)) => format!(
                "Bump {dependency} {} → {}",
                self.from_version.as_deref().unwrap_or("?"),
                self.to_version.as_deref().unwrap_or("?")
            ),
            (_, Some(rule), _) => format!("Fix all {rule}"),
            _ if self.findings.len() == 1 => "Fix 1 finding".to_owned(),
            _ => format!("Fix {} findings", self.findings.len()),
        }
    }
}

/// One open finding's stored fix, for previews of "Fix all <rule>".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixPreview {
    pub finding_id: i64,
    pub path: String,
    pub line: i32,
    pub snippet: String,
    pub fix: FixView,
}

/// An open, unowned finding as `/contribute` offers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContributePick {
    pub finding: FindingRow,
    /// Effort points (`db::models::findings::effort_points`).
    pub effort: i64,
    pub open_in_file: i64,
    /// Calls elsewhere of its dependency's thread-local APIs that its fix helps clear.
    pub clears: i64,
    /// `safe` or `unsafe` when a repository's finding has a mechanical fix (a pull request
    /// away).
    pub fix: Option<String>,
    /// Open GitHub issues and pull requests that already name it: read before starting, and
    /// do not file another.
    #[serde(default)]
    pub filed_as: Vec<ItemRef>,
}

/// One of a target's thread locals that open calls elsewhere end at: how many, and through
/// which packages' APIs (`crum._thread_locals`: 34 through django-crum, 50 through edx-rbac).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootHolder {
    pub holder: String,
    pub calls: i64,
    /// (package whose API was called, calls), most first.
    pub through: Vec<(String, i64)>,
}

/// `/contribute`'s findings (`db::models::findings::unowned_open`), and how many it left out
/// because no tracked code imports their module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnownedOpen {
    pub picks: Vec<ContributePick>,
    pub unreached_hidden: i64,
}

/// A GitHub issue or pull request as a link: `openedx/edx-django-utils#538`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    pub repository: String,
    pub number: i32,
    pub title: String,
    pub html_url: String,
    pub is_pull: bool,
}

impl ItemRef {
    /// `owner/repo#N`, `PR owner/repo#N` for a pull request.
    pub fn label(&self) -> String {
        format!("{}{}#{}", if self.is_pull { "PR " } else { "" }, self.repository, self.number)
    }
}

/// An open epic item nobody is assigned to, with the open findings it names: work already
/// filed, waiting for someone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnassignedItem {
    pub item: ItemRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// (finding id, rule, target, path, line) of the open findings it names.
    pub names: Vec<(i64, String, String, String, i32)>,
}
