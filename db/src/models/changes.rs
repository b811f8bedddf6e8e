//! Changes: the pull requests Unthread opens for findings (a *fix*) or for a pin (a *bump*),
//! from the request to the merge. A change is asked for ([`request`]), opened by a job
//! ([`opened`]) or ended without a pull request ([`ended`]), and then follows its pull
//! request as the GitHub sync and webhooks store it ([`follow_pull`]). Every state change is
//! an event (`change.*`).

use sqlx::{PgConnection, PgExecutor};

use super::events::{self, About, ChangeEvent, Event};
use crate::kinds::{ChangeKind, ChangeState, FindingState, TargetKind};
use crate::views::{ChangeView, FixPreview};

/// A finding as a fix change sees it: where it is, whether it is still open, its stored
/// fix's applicability (`None`: no fix) and its owner (its own claim's, else its target's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub target_id: i64,
    pub target: String,
    pub target_kind: TargetKind,
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    /// Its identity within its file (`None` for results imported from other tools).
    pub content_fingerprint: Option<String>,
    pub state: Option<FindingState>,
    pub in_tests: bool,
    /// `safe` or `unsafe`.
    pub applicability: Option<String>,
    pub owner_id: Option<i64>,
}

/// The findings `ids` (the missing ones left out), as candidates of a fix change.
pub async fn candidates(db: impl PgExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as!(
        Candidate,
        r#"SELECT f.id, f.target_id, t.name AS target, t.kind AS "target_kind: TargetKind", f.rule, f.path,
                  f.fingerprint, f.content_fingerprint, finding_state(f.rule, f.fixed_in_scan, f.triage) AS "state: FindingState",
                  f.in_tests AS "in_tests!", f.fix->>'applicability' AS applicability,
                  coalesce(fc.owner_id, tc.owner_id) AS owner_id
           FROM findings f
           JOIN targets t ON t.id = f.target_id
           LEFT JOIN claims fc ON fc.finding_id = f.id AND fc.released_at IS NULL
           LEFT JOIN claims tc ON tc.target_id = f.target_id AND tc.released_at IS NULL
           WHERE f.id = ANY($1)
           ORDER BY f.id"#,
        ids
    )
    .fetch_all(db)
    .await
}

/// The open findings of `rule` in `target` outside test code (what "Fix all <rule>" covers),
/// as candidates.
pub async fn candidates_of_rule(db: impl PgExecutor<'_>, target: &str, rule: &str) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as!(
        Candidate,
        r#"SELECT f.id, f.target_id, t.name AS target, t.kind AS "target_kind: TargetKind", f.rule, f.path,
                  f.fingerprint, f.content_fingerprint, finding_state(f.rule, f.fixed_in_scan, f.triage) AS "state: FindingState",
                  f.in_tests AS "in_tests!", f.fix->>'applicability' AS applicability,
                  coalesce(fc.owner_id, tc.owner_id) AS owner_id
           FROM findings f
           JOIN targets t ON t.id = f.target_id
           LEFT JOIN claims fc ON fc.finding_id = f.id AND fc.released_at IS NULL
           LEFT JOIN claims tc ON tc.target_id = f.target_id AND tc.released_at IS NULL
           WHERE t.name = $1 AND f.rule = $2 AND NOT f.in_tests
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           ORDER BY f.id"#,
        target,
        rule
    )
    .fetch_all(db)
    .await
}

/// Per rule, the open findings of `target` (outside tests) with a stored fix: how many have
/// a safe one and how many an unsafe one — the "Fix all <rule>" offers of a repository page.
pub async fn fixable_by_rule(db: impl PgExecutor<'_>, target_id: i64) -> sqlx::Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT f.rule, count(*) FILTER (WHERE f.fix->>'applicability' = 'safe') AS "safe!",
                  count(*) FILTER (WHERE f.fix->>'applicability' = 'unsafe') AS "unsafe!"
           FROM findings f
           WHERE f.target_id = $1 AND f.fix IS NOT NULL AND NOT f.in_tests
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           GROUP BY f.rule ORDER BY f.rule"#,
        target_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.rule, r.safe, r.r#unsafe)).collect())
}

/// What a request asks for, once checked.
#[derive(Clone, Debug)]
pub struct NewChange<'a> {
    pub kind: ChangeKind,
    pub target_id: i64,
    pub rule: Option<&'a str>,
    pub unsafe_fixes: bool,
    pub dependency_id: Option<i64>,
    pub from_version: Option<&'a str>,
    pub to_version: Option<&'a str>,
    pub requirements_path: Option<&'a str>,
    /// Two requests with one key while a change of it is queued or open are one change.
    pub request_key: String,
    pub requested_by: &'a str,
    pub finding_ids: &'a [i64],
}

/// A request's change: new, or the live one with the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    New(i64),
    Existing(i64),
}

impl Requested {
    pub fn id(self) -> i64 {
        match self {
            Requested::New(id) | Requested::Existing(id) => id,
        }
    }
}

/// Records a requested change with its findings and a `change.queued` event — or, when the
/// same request is queued or open already (a double click, a retried POST), that change.
pub async fn request(db: &mut PgConnection, new: &NewChange<'_>) -> sqlx::Result<Requested> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO changes (kind, target_id, rule, unsafe_fixes, dependency_id, from_version, to_version,
                                requirements_path, request_key, requested_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (request_key) WHERE state IN ('queued', 'open') DO NOTHING
           RETURNING id"#,
        new.kind as ChangeKind,
        new.target_id,
        new.rule,
        new.unsafe_fixes,
        new.dependency_id,
        new.from_version,
        new.to_version,
        new.requirements_path,
        new.request_key,
        new.requested_by
    )
    .fetch_optional(&mut *db)
    .await?;
    let Some(id) = inserted else {
        let id = sqlx::query_scalar!(
            "SELECT id FROM changes WHERE request_key = $1 AND state IN ('queued', 'open')",
            new.request_key
        )
        .fetch_one(&mut *db)
        .await?;
        return Ok(Requested::Existing(id));
    };
    sqlx::query!(
        "INSERT INTO change_findings (change_id, finding_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
        id,
        new.finding_ids
    )
    .execute(&mut *db)
    .await?;
    record(db, id, ChangeState::Queued, Some(new.requested_by)).await?;
    Ok(Requested::New(id))
}

const VIEW_COLUMNS: &str = r#"c.id, c.target_id, c.kind, c.state, t.name AS target, c.rule, c.unsafe_fixes, d.name AS dependency,
    c.from_version, c.to_version, c.requirements_path, c.requested_by, c.requested_at, c.updated_at, c.branch,
    c.pull_number, c.pull_url, c.reason,
    coalesce((SELECT array_agg(cf.finding_id ORDER BY cf.finding_id) FROM change_findings cf WHERE cf.change_id = c.id), '{}') AS findings,
    (SELECT count(*) FROM change_findings cf JOIN findings f ON f.id = cf.finding_id
     WHERE cf.change_id = c.id AND f.fixed_in_scan IS NOT NULL) AS findings_fixed
    FROM changes c JOIN targets t ON t.id = c.target_id LEFT JOIN targets d ON d.id = c.dependency_id"#;

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: i64,
    target_id: i64,
    kind: ChangeKind,
    state: ChangeState,
    target: String,
    rule: Option<String>,
    unsafe_fixes: bool,
    dependency: Option<String>,
    from_version: Option<String>,
    to_version: Option<String>,
    requirements_path: Option<String>,
    requested_by: String,
    requested_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    branch: Option<String>,
    pull_number: Option<i32>,
    pull_url: Option<String>,
    reason: Option<String>,
    findings: Vec<i64>,
    findings_fixed: i64,
}

impl From<ViewRow> for ChangeView {
    fn from(r: ViewRow) -> Self {
        ChangeView {
            id: r.id,
            kind: r.kind,
            state: r.state,
            target: r.target,
            rule: r.rule,
            unsafe_fixes: r.unsafe_fixes,
            dependency: r.dependency,
            from_version: r.from_version,
            to_version: r.to_version,
            requirements_path: r.requirements_path,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            updated_at: r.updated_at,
            branch: r.branch,
            pull_number: r.pull_number,
            pull_url: r.pull_url,
            reason: r.reason,
            findings: r.findings,
            findings_fixed: r.findings_fixed,
        }
    }
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ChangeView>> {
    Ok(row(db, id).await?.map(Into::into))
}

async fn row(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ViewRow>> {
    sqlx::query_as(&format!("SELECT {VIEW_COLUMNS} WHERE c.id = $1")).bind(id).fetch_optional(db).await
}

/// The newest `limit` changes, of one repository when `target` names it.
pub async fn list(db: impl PgExecutor<'_>, target: Option<&str>, limit: i64) -> sqlx::Result<Vec<ChangeView>> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "SELECT {VIEW_COLUMNS} WHERE ($1::text IS NULL OR t.name = $1) ORDER BY c.requested_at DESC, c.id DESC LIMIT $2"
    ))
    .bind(target)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The newest change addressing finding `finding_id` that did not end without a pull
/// request (queued, open, merged or closed), for the finding's page.
pub async fn for_finding(db: &mut PgConnection, finding_id: i64) -> sqlx::Result<Option<ChangeView>> {
    let id = sqlx::query_scalar!(
        "SELECT c.id FROM change_findings cf JOIN changes c ON c.id = cf.change_id
         WHERE cf.finding_id = $1 AND c.state NOT IN ('failed', 'cancelled') ORDER BY c.id DESC LIMIT 1",
        finding_id
    )
    .fetch_optional(&mut *db)
    .await?;
    match id {
        Some(id) => get(db, id).await,
        None => Ok(None),
    }
}

/// How many changes are in each state, and the merges per day (for /changes' burndown).
pub async fn counts(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(ChangeState, i64)>> {
    let rows =
        sqlx::query!(r#"SELECT state AS "state: ChangeState", count(*) AS "n!" FROM changes GROUP BY 1 ORDER BY 1"#)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.n)).collect())
}

/// The days changes were merged on, with the total merged by the end of each (from the
/// `change.merged` events: what GitHub said, when it said it).
pub async fn merged_per_day(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(chrono::NaiveDate, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT (at AT TIME ZONE 'UTC')::date AS "day!: chrono::NaiveDate", count(*) AS "n!" FROM events
           WHERE kind = 'change.merged' GROUP BY 1 ORDER BY 1"#
    )
    .fetch_all(db)
    .await?;
    let mut total = 0;
    Ok(rows
        .into_iter()
        .map(|r| {
            total += r.n;
            (r.day, total)
        })
        .collect())
}

/// What a job needs to open a change.
#[derive(Clone, Debug)]
pub struct Work {
    pub view: ChangeView,
    /// The repository the pull request is opened in.
    pub target_id: i64,
    /// Its findings, as they are now.
    pub findings: Vec<Candidate>,
}

pub async fn work(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<Work>> {
    let Some(row) = row(&mut *db, id).await? else { return Ok(None) };
    let target_id = row.target_id;
    let view = ChangeView::from(row);
    let findings = candidates(&mut *db, &view.findings).await?;
    Ok(Some(Work { view, target_id, findings }))
}

/// Ends a queued change without a pull request: `Failed` or `Cancelled`, with the reason.
/// False when it was not queued (a second attempt after the first ended it).
pub async fn ended(db: &mut PgConnection, id: i64, state: ChangeState, reason: &str) -> sqlx::Result<bool> {
    debug_assert!(matches!(state, ChangeState::Failed | ChangeState::Cancelled));
    let done = sqlx::query!(
        "UPDATE changes SET state = $2, reason = $3, updated_at = now() WHERE id = $1 AND state = 'queued'",
        id,
        state as ChangeState,
        reason
    )
    .execute(&mut *db)
    .await?
    .rows_affected()
        == 1;
    if done {
        record(db, id, state, None).await?;
    }
    Ok(done)
}

/// What opening a change made.
pub struct Opened<'a> {
    pub branch: &'a str,
    pub base_commit: &'a str,
    pub diff: &'a str,
    pub pull_id: i64,
    pub pull_number: i32,
    pub pull_url: &'a str,
}

/// Records a change's pull request (stored in `gh_pulls` first): the change is open.
pub async fn opened(db: &mut PgConnection, id: i64, opened: &Opened<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE changes SET state = 'open', branch = $2, base_commit = $3, diff = $4, pull_id = $5, pull_number = $6,
                pull_url = $7, updated_at = now()
         WHERE id = $1 AND state = 'queued'",
        id,
        opened.branch,
        opened.base_commit,
        opened.diff,
        opened.pull_id,
        opened.pull_number,
        opened.pull_url
    )
    .execute(&mut *db)
    .await?;
    record(db, id, ChangeState::Open, None).await?;
    // The pull request may have been merged or closed before this was recorded.
    follow_pull(db, opened.pull_id).await
}

/// The combined diff a change's pull request carries (`None` before it is opened).
pub async fn diff(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<String>> {
    Ok(sqlx::query_scalar!("SELECT diff FROM changes WHERE id = $1", id).fetch_optional(db).await?.flatten())
}

/// After pull request `pull_id` was stored: an open change of it becomes merged or closed
/// as GitHub says (and a closed one that was reopened, open again), with its event.
pub async fn follow_pull(db: &mut PgConnection, pull_id: i64) -> sqlx::Result<()> {
    let moved = sqlx::query!(
        r#"UPDATE changes c
           SET state = CASE WHEN p.merged THEN 'merged' WHEN p.state = 'closed' THEN 'closed' ELSE 'open' END,
               updated_at = now()
           FROM gh_pulls p
           WHERE p.id = c.pull_id AND c.pull_id = $1 AND c.state IN ('open', 'closed')
             AND c.state <> CASE WHEN p.merged THEN 'merged' WHEN p.state = 'closed' THEN 'closed' ELSE 'open' END
           RETURNING c.id, c.state AS "state: ChangeState""#,
        pull_id
    )
    .fetch_all(&mut *db)
    .await?;
    for change in moved {
        record(db, change.id, change.state, None).await?;
    }
    Ok(())
}

/// The event of change `id` entering `state`.
async fn record(db: &mut PgConnection, id: i64, state: ChangeState, actor: Option<&str>) -> sqlx::Result<()> {
    let Some(row) = row(&mut *db, id).await? else { return Ok(()) };
    let target_id = row.target_id;
    let view = ChangeView::from(row);
    let payload = ChangeEvent {
        change: id,
        kind: view.kind,
        repository: view.target.clone(),
        subject: view.subject(),
        pull: view.pull_number,
        reason: view.reason.clone(),
    };
    let event = match state {
        ChangeState::Queued => Event::ChangeQueued(payload),
        ChangeState::Open => Event::ChangeOpened(payload),
        ChangeState::Merged => Event::ChangeMerged(payload),
        ChangeState::Closed => Event::ChangeClosed(payload),
        ChangeState::Failed => Event::ChangeFailed(payload),
        ChangeState::Cancelled => Event::ChangeCancelled(payload),
    };
    let about = About { actor, target_id: Some(target_id), ..Default::default() };
    let about = if view.findings.is_empty() { about } else { about.findings(&view.findings) };
    events::record(db, &event, about).await?;
    Ok(())
}

/// The stored fixes of `target_id`'s open findings of `rule` outside tests, first `limit` by
/// path and line.
pub async fn previews(
    db: impl PgExecutor<'_>,
    target_id: i64,
    rule: &str,
    limit: i64,
) -> sqlx::Result<Vec<FixPreview>> {
    let rows = sqlx::query!(
        r#"SELECT f.id, f.path, f.start_line, coalesce(f.snippet, '') AS "snippet!",
                  f.fix AS "fix!: sqlx::types::Json<crate::views::FixView>"
           FROM findings f
           WHERE f.target_id = $1 AND f.rule = $2 AND f.fix IS NOT NULL AND NOT f.in_tests
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           ORDER BY f.path, f.start_line LIMIT $3"#,
        target_id,
        rule,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| FixPreview { finding_id: r.id, path: r.path, line: r.start_line, snippet: r.snippet, fix: r.fix.0 })
        .collect())
}

/// What bumping a dependency's pin would do, from its checked releases: the release clearing
/// the most open findings (the newest of the pinned major when it clears as many: the smaller
/// step), which findings it clears, what it requires, and the repositories' requirements
/// files that pin the scanned version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BumpPlan {
    pub dependency_id: i64,
    pub dependency: String,
    pub from: String,
    pub to: String,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
    /// Its open findings the new release no longer has, and all its open findings.
    pub clears: Vec<i64>,
    pub open: i64,
    pub pins: Vec<PinPlace>,
}

/// A requirements file of a tracked repository pinning a package at a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinPlace {
    pub target_id: i64,
    pub repository: String,
    pub path: String,
    /// The package's name as the pin file spells it (normalised).
    pub package: String,
}

/// The bump of dependency `name` (a dependency target's name), if a checked release clears
/// any of its open findings; `None` also for a name that is no dependency.
pub async fn bump_plan(db: &mut PgConnection, name: &str) -> sqlx::Result<Option<BumpPlan>> {
    let Some(best) = sqlx::query!(
        r#"SELECT t.id, t.name, rc.pinned AS "pinned?", rs.version, rs.requires_python, rs.requires_dist,
                  (SELECT array_agg(f.id ORDER BY f.id) FROM findings f
                   WHERE f.target_id = t.id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                     AND NOT release_has(rs, f)) AS clears,
                  (SELECT count(*) FROM findings f WHERE f.target_id = t.id
                     AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open') AS "open!"
           FROM targets t
           JOIN release_checks rc ON rc.target_id = t.id
           JOIN release_scans rs ON rs.target_id = t.id
           WHERE t.name = $1 AND t.kind = 'dependency'
           ORDER BY cardinality((SELECT array_agg(f.id) FROM findings f
                     WHERE f.target_id = t.id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                       AND NOT release_has(rs, f))) DESC NULLS LAST,
                    rs.newest, rs.version
           LIMIT 1"#,
        name
    )
    .fetch_optional(&mut *db)
    .await?
    else {
        return Ok(None);
    };
    let clears = best.clears.unwrap_or_default();
    let Some(from) = best.pinned.filter(|_| !clears.is_empty()) else { return Ok(None) };
    let pins = sqlx::query!(
        r#"SELECT rf.target_id, r.name AS repository, rf.path, p.name AS package
           FROM target_packages tp
           JOIN packages p ON p.id = tp.package_id
           JOIN package_pins pp ON pp.package_id = tp.package_id AND pp.version = $2
           JOIN requirement_files rf ON rf.id = pp.requirement_file_id
           JOIN targets r ON r.id = rf.target_id AND r.tracking_stopped_at IS NULL
           WHERE tp.target_id = $1
           ORDER BY r.name, rf.path"#,
        best.id,
        from
    )
    .fetch_all(&mut *db)
    .await?;
    Ok(Some(BumpPlan {
        dependency_id: best.id,
        dependency: best.name,
        from,
        to: best.version,
        requires_python: best.requires_python,
        requires_dist: best.requires_dist,
        clears,
        open: best.open,
        pins: pins
            .into_iter()
            .map(|p| PinPlace { target_id: p.target_id, repository: p.repository, path: p.path, package: p.package })
            .collect(),
    }))
}
