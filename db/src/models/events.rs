//! The audit log: every change Unthread makes or sees is one row of `events`, never rewritten
//! (a trigger refuses UPDATE and DELETE). It is the source of the burndown, of each finding's
//! history and of every weekly report, which replay it — so what a kind of event says must not
//! drift between its writers and its readers. Each kind has one typed payload here
//! ([`Event`]), and [`record`] is the only code that inserts into `events`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

use crate::kinds::Item;

/// Declares the kinds of events once: the [`Event`] enum with each kind's payload, the plain
/// [`EventKind`] and the text stored in `events.kind`.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident($payload:ty) = $text:literal,)*) => {
        /// One entry of the audit log: its kind and what it says (the `data` column).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "data")]
        pub enum Event {
            $($(#[$doc])* #[serde(rename = $text)] $variant($payload),)*
        }

        /// What kind of change an event records (`events.kind`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The text stored in `events.kind`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $text,)*
                }
            }
        }

        impl Event {
            pub fn kind(&self) -> EventKind {
                match self {
                    $(Event::$variant(_) => EventKind::$variant,)*
                }
            }
        }
    };
}

event_kinds! {
    /// A scan was recorded (one per scan, with its counts).
    ScanIngested(ScanIngested) = "scan.ingested",
    /// Findings a scan saw for the first time (`finding_ids`).
    FindingsNew(FindingCount) = "findings.new",
    /// Findings a complete scan no longer saw.
    FindingsFixed(FindingCount) = "findings.fixed",
    /// Findings followed to a renamed file.
    FindingsRenamed(FindingCount) = "findings.renamed",
    /// Fixed findings a scan saw again.
    FindingsReopened(FindingCount) = "findings.reopened",
    /// A pip-compile requirements file was imported for a target.
    RequirementsImported(RequirementsImported) = "requirements.imported",
    /// Someone claimed a finding or a target for themself.
    ClaimAdded(ClaimChange) = "claim.added",
    /// The owner or a maintainer gave a claimed item up.
    ClaimReleased(ClaimChange) = "claim.released",
    /// A maintainer made someone the owner of an item.
    ClaimAssigned(ClaimAssigned) = "claim.assigned",
    /// A maintainer changed a finding's triage.
    FindingTriaged(TriageChange) = "finding.triaged",
    /// A maintainer linked a finding or target to an issue or pull request.
    LinkAdded(LinkAdded) = "link.added",
    /// A maintainer removed a link.
    LinkRemoved(LinkRemoved) = "link.removed",
    /// A GitHub sync run ended.
    GitHubSynced(GitHubSynced) = "github.synced",
    /// A webhook delivery was received.
    GitHubWebhook(WebhookDelivery) = "github.webhook",
    /// An issue's assignees changed (as a sync or webhook saw it; `at` is the issue's
    /// `updated_at`, no earlier than the change): the weekly report's "nobody assigned".
    GitHubAssignees(AssigneesChanged) = "github.assignees",
    /// A weekly report was posted to (or updated on) GitHub.
    ReportPosted(ReportPosted) = "report.posted",
    /// Someone signed in.
    UserSignedIn(SignedIn) = "user.signed_in",
    /// Someone's role changed: GitHub says so at sign-in, or the development login asked.
    UserRoleChanged(RoleChanged) = "user.role_changed",
    /// A maintainer created an API token.
    TokenCreated(TokenCreated) = "token.created",
    /// A maintainer revoked an API token.
    TokenRevoked(TokenRevoked) = "token.revoked",
    /// The demo data set was loaded.
    DemoLoaded(DemoLoaded) = "demo.loaded",
    /// A dependency's releases were looked up for upgrade advice.
    UpgradesChecked(UpgradesChecked) = "upgrades.checked",
    /// Reachability was recomputed (with the open dependency findings it found reached).
    ReachComputed(ReachComputed) = "reach.computed",
    /// A repository became tracked (or tracked again): scanned from GitHub from now on.
    RepositoryTracked(RepositoryTracking) = "repository.tracked",
    /// A repository's tracking stopped: its history stays, nothing more is scanned.
    RepositoryUntracked(RepositoryTracking) = "repository.untracked",
    /// Someone asked for a pull request (a fix or a bump): a worker opens it next.
    ChangeQueued(ChangeEvent) = "change.queued",
    /// A change's pull request was opened.
    ChangeOpened(ChangeEvent) = "change.opened",
    /// A change's pull request was merged.
    ChangeMerged(ChangeEvent) = "change.merged",
    /// A change's pull request was closed without merging.
    ChangeClosed(ChangeEvent) = "change.closed",
    /// A change ended without a pull request (the reason says why).
    ChangeFailed(ChangeEvent) = "change.failed",
    /// A change was not needed any more (its findings were fixed or gone).
    ChangeCancelled(ChangeEvent) = "change.cancelled",
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|kind| kind.as_str() == text).ok_or_else(|| UnknownEventKind(text.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct UnknownEventKind(pub String);

/// A scan's counts (`scan.ingested`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanIngested {
    /// `complete` or `partial`.
    pub status: String,
    pub revision: Option<String>,
    pub tool: String,
    pub new: i64,
    pub seen: i64,
    pub renamed: i64,
    pub reopened: i64,
    pub fixed: i64,
    pub unread_files: usize,
    /// Why the scan happened, when it explains its fixes (a version bump).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// How many findings a `findings.*` event lists in `finding_ids`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingCount {
    pub count: i64,
    /// What made the change (`findings.fixed` by a version bump: "bumping NAME 1.2 → 1.3 in
    /// <file> at <commit>").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequirementsImported {
    pub path: String,
    pub pins: usize,
    pub edges: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

/// A claim taken or released: who owns (owned) what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimChange {
    pub owner: String,
    pub item: Item,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimAssigned {
    pub owner: String,
    /// Who owned the item before, if anyone.
    pub previous: Option<String>,
    pub item: Item,
}

/// A triage decision. The history replay (`history::findings`) reads `from` and `to` of these
/// in SQL: a test checks the keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TriageChange {
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkAdded {
    pub link: i64,
    pub issue: Option<i64>,
    pub pull: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkRemoved {
    pub link: i64,
}

/// The assignees GitHub lists for an issue from now on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssigneesChanged {
    pub repository: String,
    pub number: i32,
    pub assignees: Vec<String>,
}

/// What a sync run cost and brought.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GitHubSynced {
    pub run_id: i64,
    pub issues: usize,
    pub pulls: usize,
    pub new_links: u64,
    pub requests: u32,
    pub not_modified: u32,
    pub rate_limited: u32,
    pub retries: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub delivery: String,
    pub event: String,
    pub action: Option<String>,
    /// False when the delivery changed nothing Unthread tracks.
    pub applied: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportPosted {
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    /// `owner/repo#number`.
    pub issue: String,
    /// `posted`, `updated` or `reposted`.
    pub action: String,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub role: String,
    /// `github`.
    pub via: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleChanged {
    pub login: String,
    pub from: crate::kinds::Role,
    pub to: crate::kinds::Role,
    /// `github` or `dev_login`.
    pub via: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenCreated {
    pub token: i64,
    pub name: String,
    pub targets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub token: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoLoaded {
    /// Where the demo's scans came from.
    pub source: String,
    pub findings: usize,
}

/// A reachability recomputation (`reach.computed`): what it covered, and the open findings
/// of dependencies (with an import index) in reached modules and in the others — kept as
/// history, so the weekly report can say what held at a week's end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReachComputed {
    pub targets: usize,
    pub modules: usize,
    pub reached_modules: usize,
    pub dependency_findings_reached: i64,
    pub dependency_findings_not_reached: i64,
}

/// A dependency's releases looked up (`upgrades.checked`): the scanned pin, the index's
/// newest release, and the releases scanned for the advice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpgradesChecked {
    pub pinned: Option<String>,
    pub newest: Option<String>,
    pub scanned: Vec<String>,
}

/// Tracking of a repository started or stopped, and from where (`cli`, `--repo`, the
/// /admin page).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepositoryTracking {
    pub repository: String,
    pub via: String,
}

/// A change's state changed (`change.*`): which change, what it is, and its pull request or
/// the reason it ended without one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub change: i64,
    pub kind: crate::kinds::ChangeKind,
    /// `owner/repo`.
    pub repository: String,
    /// The rule ("Fix all UT012") or the bump ("django-crum 0.7.9 → 0.8.0").
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Event {
    /// The payload as stored in `data`.
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => tagged.remove("data").unwrap_or_default(),
            // Every payload is a struct of plain fields: serialising cannot fail.
            _ => unreachable!("event payloads serialise to objects"),
        }
    }

    /// Reads an event back from its `kind` and `data` columns.
    pub fn from_row(kind: &str, data: serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
    }
}

/// The columns of an event beside its payload: who acted, on what, and when.
#[derive(Clone, Copy, Debug, Default)]
pub struct About<'a> {
    /// GitHub login of the person who acted; `None` for the system (scans, sync).
    pub actor: Option<&'a str>,
    pub target_id: Option<i64>,
    pub finding_id: Option<i64>,
    pub scan_id: Option<i64>,
    /// The findings a scan changed (`findings.*` events).
    pub finding_ids: Option<&'a [i64]>,
    /// When it happened, for imported or replayed history; `None` is now.
    pub at: Option<DateTime<Utc>>,
}

impl<'a> About<'a> {
    /// Done by the system.
    pub fn system() -> Self {
        Self::default()
    }

    /// Done by `login`.
    pub fn by(login: &'a str) -> Self {
        Self { actor: Some(login), ..Self::default() }
    }

    pub fn target(self, id: i64) -> Self {
        Self { target_id: Some(id), ..self }
    }

    pub fn finding(self, id: i64) -> Self {
        Self { finding_id: Some(id), ..self }
    }

    pub fn scan(self, id: i64) -> Self {
        Self { scan_id: Some(id), ..self }
    }

    pub fn findings(self, ids: &'a [i64]) -> Self {
        Self { finding_ids: Some(ids), ..self }
    }

    pub fn at(self, at: Option<DateTime<Utc>>) -> Self {
        Self { at, ..self }
    }
}

/// Appends `event` to the audit log; returns its id.
pub async fn record(db: impl PgExecutor<'_>, event: &Event, about: About<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO events (actor, kind, target_id, finding_id, scan_id, finding_ids, data, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))
           RETURNING id"#,
        about.actor,
        event.kind().as_str(),
        about.target_id,
        about.finding_id,
        about.scan_id,
        about.finding_ids as _,
        event.data(),
        about.at as _
    )
    .fetch_one(db)
    .await
}

/// Whether any event of `kind` was recorded.
pub async fn any_of_kind(db: impl PgExecutor<'_>, kind: EventKind) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM events WHERE kind = $1) AS "exists!""#, kind.as_str())
        .fetch_one(db)
        .await
}

/// The last reachability recomputation before `end`, with when it ran.
pub async fn last_reach_before(
    db: impl PgExecutor<'_>,
    end: DateTime<Utc>,
) -> sqlx::Result<Option<(DateTime<Utc>, ReachComputed)>> {
    let row = sqlx::query!(
        r#"SELECT at AS "at: chrono::DateTime<chrono::Utc>", data FROM events
           WHERE kind = 'reach.computed' AND at < $1 ORDER BY at DESC, id DESC LIMIT 1"#,
        end as _
    )
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|r| Some((r.at, serde_json::from_value(r.data).ok()?))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<Event> {
        let item = Item::Finding(7);
        let count = FindingCount {
            count: 3,
            cause: Some("bumping six 1.15.0 → 1.16.0 in requirements/edx/base.txt at 0123456789ab".into()),
        };
        let mut events = vec![
            Event::ScanIngested(ScanIngested {
                status: "complete".into(),
                revision: Some("abc".into()),
                tool: "unthread-scan".into(),
                new: 1,
                seen: 2,
                renamed: 0,
                reopened: 0,
                fixed: 1,
                unread_files: 0,
                cause: None,
            }),
            Event::FindingsNew(count.clone()),
            Event::FindingsFixed(count.clone()),
            Event::FindingsRenamed(count.clone()),
            Event::FindingsReopened(count),
            Event::RequirementsImported(RequirementsImported {
                path: "requirements/edx/base.txt".into(),
                pins: 300,
                edges: 500,
                added: 1,
                removed: 0,
                changed: 2,
            }),
            Event::ClaimAdded(ClaimChange { owner: "ana".into(), item }),
            Event::ClaimReleased(ClaimChange { owner: "ana".into(), item: Item::Target(2) }),
            Event::ClaimAssigned(ClaimAssigned { owner: "bilal".into(), previous: None, item }),
            Event::FindingTriaged(TriageChange {
                from: "open".into(),
                to: "wont_fix".into(),
                reason: Some("x".into()),
            }),
            Event::LinkAdded(LinkAdded { link: 1, issue: Some(2), pull: None }),
            Event::LinkRemoved(LinkRemoved { link: 1 }),
            Event::GitHubSynced(GitHubSynced { run_id: 1, requests: 10, ..Default::default() }),
            Event::GitHubWebhook(WebhookDelivery {
                delivery: "d".into(),
                event: "push".into(),
                action: None,
                applied: false,
            }),
            Event::GitHubAssignees(AssigneesChanged {
                repository: "openedx/openedx-platform".into(),
                number: 38698,
                assignees: vec!["ana".into()],
            }),
            Event::ReportPosted(ReportPosted {
                week: "2026-W47".into(),
                issue: "openedx/openedx-platform#38680".into(),
                action: "posted".into(),
                url: "https://github.com/x".into(),
            }),
            Event::UserSignedIn(SignedIn { role: "contributor".into(), via: "github".into() }),
            Event::UserRoleChanged(RoleChanged {
                login: "ana".into(),
                from: crate::kinds::Role::Contributor,
                to: crate::kinds::Role::Maintainer,
                via: "dev_login".into(),
            }),
            Event::TokenCreated(TokenCreated { token: 1, name: "ci".into(), targets: vec!["openedx/edx-ace".into()] }),
            Event::TokenRevoked(TokenRevoked { token: 1 }),
            Event::DemoLoaded(DemoLoaded { source: "snapshot".into(), findings: 1333 }),
            Event::UpgradesChecked(UpgradesChecked {
                pinned: Some("0.7.9".into()),
                newest: Some("0.9.0".into()),
                scanned: vec!["0.9.0".into()],
            }),
            Event::ReachComputed(ReachComputed {
                targets: 299,
                modules: 12_254,
                reached_modules: 3_926,
                dependency_findings_reached: 467,
                dependency_findings_not_reached: 725,
            }),
        ];
        let change = |pull: Option<i32>, reason: Option<&str>| ChangeEvent {
            change: 7,
            kind: crate::kinds::ChangeKind::Fix,
            repository: "openedx/XBlock".into(),
            subject: "UT012".into(),
            pull,
            reason: reason.map(str::to_owned),
        };
        let tracking = RepositoryTracking { repository: "openedx/edx-ace".into(), via: "--repo".into() };
        events.extend([
            Event::RepositoryTracked(tracking.clone()),
            Event::RepositoryUntracked(tracking),
            Event::ChangeQueued(change(None, None)),
            Event::ChangeOpened(change(Some(940), None)),
            Event::ChangeMerged(change(Some(940), None)),
            Event::ChangeClosed(change(Some(940), None)),
            Event::ChangeFailed(change(None, Some("the token cannot push to openedx/XBlock"))),
            Event::ChangeCancelled(change(None, Some("its findings are all fixed"))),
        ]);
        events
    }

    #[test]
    fn every_kind_round_trips_through_its_columns() {
        let events = one_of_each();
        let kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
        assert_eq!(kinds, EventKind::ALL, "one example of every kind, in order");
        for event in events {
            let kind = event.kind();
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
            // The schema's CHECK on events.kind.
            assert!(
                kind.as_str().split('.').count() >= 2
                    && kind.as_str().bytes().all(|b| b == b'.' || b == b'_' || b.is_ascii_lowercase())
            );
            let data = event.data();
            assert!(data.is_object(), "{kind}: {data}");
            assert_eq!(Event::from_row(kind.as_str(), data).unwrap(), event);
        }
        assert!("claims.added".parse::<EventKind>().is_err());
    }

    #[test]
    fn payloads_keep_the_keys_the_replay_reads() {
        // history::findings and history::triage_changes read these keys in SQL.
        let triage =
            Event::FindingTriaged(TriageChange { from: "open".into(), to: "false_positive".into(), reason: None })
                .data();
        assert_eq!(triage, serde_json::json!({ "from": "open", "to": "false_positive", "reason": null }));
        // The ownership history reads `owner`, `previous` and the claimed `item`.
        let assigned = Event::ClaimAssigned(ClaimAssigned {
            owner: "ana".into(),
            previous: Some("eli".into()),
            item: Item::Target(4),
        })
        .data();
        assert_eq!(assigned, serde_json::json!({ "owner": "ana", "previous": "eli", "item": { "Target": 4 } }));
    }
}
