use sqlx::{PgExecutor, PgPool};

use crate::kinds::{ScanStatus, TargetKind};
use crate::views::{Blocker, FileBreakdown, Progress, ScopeNote, TargetDetail, TargetSummary};

/// Registers a target if it is new and returns its id either way.
pub async fn upsert(db: impl PgExecutor<'_>, kind: TargetKind, name: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        // The platform's pushes are watched for its main requirements file from the start.
        r#"INSERT INTO targets (kind, name, requirements_paths)
           VALUES ($1, $2, CASE WHEN $1 = 'platform' THEN '{requirements/edx/base.txt}'::text[] ELSE '{}' END)
           ON CONFLICT (name) DO UPDATE SET kind = targets.kind
           RETURNING id"#,
        kind as TargetKind,
        name
    )
    .fetch_one(db)
    .await
}

/// `/repos` (`dependencies = false`) or `/deps`: every target of that side (or just the
/// target `only`) with its progress, owners, open pull requests, last scan and, for
/// dependencies, pins and dependents. Findings in modules no tracked code imports count only
/// when `include_unreached` (`finding_progress.unreached`); `open_reached` counts them apart
/// either way.
pub async fn summaries(
    pool: &PgPool,
    dependencies: bool,
    only: Option<i64>,
    include_unreached: bool,
) -> sqlx::Result<Vec<TargetSummary>> {
    let rows = sqlx::query!(
        r#"WITH chosen AS (
               SELECT id, name, kind FROM targets WHERE (kind = 'dependency') = $1 AND ($2::bigint IS NULL OR id = $2)
           ),
           scoped AS (
               SELECT p.target_id, p.counts_as, (NOT $3 AND p.unreached) AS left_out
               FROM finding_progress p WHERE p.target_id IN (SELECT id FROM chosen)
           ),
           counts AS (
               SELECT p.target_id,
                      count(*) FILTER (WHERE p.counts_as = 'open' AND NOT p.left_out) AS open,
                      count(*) FILTER (WHERE p.counts_as = 'fixed' AND NOT p.left_out) AS fixed,
                      count(*) FILTER (WHERE p.counts_as = 'triaged_away' AND NOT p.left_out) AS triaged_away,
                      count(*) FILTER (WHERE p.counts_as = 'migrated' AND NOT p.left_out) AS migrated,
                      count(*) FILTER (WHERE p.counts_as = 'tests_open') AS tests_open,
                      count(*) FILTER (WHERE p.counts_as IN ('open', 'fixed', 'triaged_away') AND p.left_out) AS left_out
               FROM scoped p
               GROUP BY p.target_id
           ),
           owners AS (
               -- Simulated people (the demo's, development accounts) are marked as such.
               SELECT coalesce(c.target_id, f.target_id) AS target_id,
                      array_agg(DISTINCT person_label(u.login, u.dev_only)
                                ORDER BY person_label(u.login, u.dev_only)) AS logins
               FROM claims c JOIN users u ON u.id = c.owner_id LEFT JOIN findings f ON f.id = c.finding_id
               WHERE c.released_at IS NULL
               GROUP BY 1
           ),
           pulls AS (
               SELECT coalesce(l.target_id, f.target_id) AS target_id, count(DISTINCT l.pull_id) AS open_pulls
               FROM links l JOIN gh_pulls pr ON pr.id = l.pull_id AND pr.state = 'open'
               LEFT JOIN findings f ON f.id = l.finding_id
               WHERE l.removed_at IS NULL
               GROUP BY 1
           ),
           last_scan AS (
               SELECT DISTINCT ON (s.target_id) s.target_id, s.finished_at, s.revision, s.status, s.files_failed,
                      cardinality(s.scope_paths) AS scope_files, s.scope_why
               FROM scans s WHERE s.target_id IN (SELECT id FROM chosen) AND s.status <> 'running'
               ORDER BY s.target_id, s.started_at DESC, s.id DESC
           ),
           -- Open GitHub issues about the target: issues filed in its repository that belong
           -- to an epic (a sub-issue), and issues linked to it or to one of its findings.
           epic_items AS (
               SELECT c.id AS target_id, count(DISTINCT i.id) AS open_items
               FROM chosen c
               JOIN gh_issues i ON i.state = 'open' AND (
                   (lower(i.repository) = lower(c.name) AND i.parent_number IS NOT NULL)
                   OR EXISTS (SELECT 1 FROM links l LEFT JOIN findings lf ON lf.id = l.finding_id
                              WHERE l.issue_id = i.id AND l.removed_at IS NULL
                                AND coalesce(l.target_id, lf.target_id) = c.id))
               GROUP BY c.id
           ),
           package_of AS (
               SELECT tp.target_id, tp.package_id FROM target_packages tp WHERE tp.target_id IN (SELECT id FROM chosen)
           ),
           -- The names UT011's messages give a target: its own, and its packages' (a library
           -- target is named after its repository, its APIs after its distribution).
           api_package AS (
               SELECT id AS target_id, name FROM chosen
               UNION
               SELECT tp.target_id, p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id
               WHERE tp.target_id IN (SELECT id FROM chosen)
           ),
           impact AS (
               SELECT ap.target_id, count(DISTINCT f.id) AS calls, count(DISTINCT f.target_id) AS targets
               FROM api_package ap
               JOIN findings f ON f.rule = 'UT011' AND ut011_package(f.message) = ap.name
               WHERE finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open' AND NOT f.in_tests
                 AND f.target_id <> ap.target_id
               GROUP BY ap.target_id
           ),
           reach AS (
               SELECT f.target_id,
                      count(*) FILTER (WHERE mr.path IS NOT NULL) AS reached,
                      count(*) FILTER (WHERE mr.path IS NULL) AS unreached
               FROM findings f
               JOIN reach_targets rt ON rt.target_id = f.target_id
               LEFT JOIN module_reach mr ON mr.target_id = f.target_id AND mr.path = f.path
               WHERE f.target_id IN (SELECT id FROM chosen) AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                 AND NOT f.in_tests
               GROUP BY f.target_id
           )
           SELECT c.id, c.name, c.kind AS "kind: TargetKind",
                  coalesce(n.open, 0) AS "open!", coalesce(n.fixed, 0) AS "fixed!",
                  coalesce(n.migrated, 0) AS "migrated!", coalesce(n.triaged_away, 0) AS "triaged_away!",
                  coalesce(n.tests_open, 0) AS "tests_open!", coalesce(n.left_out, 0) AS "left_out!",
                  ls.status AS "last_scan_status?: ScanStatus", coalesce(ls.files_failed, 0) AS "files_failed!",
                  ls.scope_files AS "scope_files?", ls.scope_why AS "scope_why?",
                  coalesce(ei.open_items, 0) AS "epic_items_open!",
                  coalesce(o.logins, '{}') AS "owners!",
                  coalesce(pl.open_pulls, 0) AS "open_pulls!",
                  ls.finished_at AS "last_scan_at: chrono::DateTime<chrono::Utc>", ls.revision AS "last_revision?",
                  ARRAY(SELECT DISTINCT pp.version FROM package_of po JOIN package_pins pp ON pp.package_id = po.package_id
                        WHERE po.target_id = c.id AND pp.version IS NOT NULL ORDER BY 1) AS "pinned!",
                  ARRAY(SELECT DISTINCT coalesce(parent.name, e.via_file) FROM package_of po
                        JOIN package_edges e ON e.child_package_id = po.package_id
                        LEFT JOIN packages parent ON parent.id = e.parent_package_id
                        WHERE po.target_id = c.id ORDER BY 1) AS "pulled_in_by!",
                  (SELECT count(DISTINCT rf.target_id) FROM package_of po
                   JOIN package_pins pp ON pp.package_id = po.package_id
                   JOIN requirement_files rf ON rf.id = pp.requirement_file_id
                   WHERE po.target_id = c.id AND rf.target_id <> c.id) AS "blocks_repositories!",
                  EXISTS (SELECT 1 FROM reach_targets rt WHERE rt.target_id = c.id) AS "indexed!",
                  coalesce(rc.reached, 0) AS "open_reached!", coalesce(rc.unreached, 0) AS "open_unreached!",
                  coalesce(im.calls, 0) AS "impact_calls!", coalesce(im.targets, 0) AS "impact_targets!"
           FROM chosen c
           LEFT JOIN counts n ON n.target_id = c.id
           LEFT JOIN owners o ON o.target_id = c.id
           LEFT JOIN pulls pl ON pl.target_id = c.id
           LEFT JOIN last_scan ls ON ls.target_id = c.id
           LEFT JOIN reach rc ON rc.target_id = c.id
           LEFT JOIN impact im ON im.target_id = c.id
           LEFT JOIN epic_items ei ON ei.target_id = c.id
           ORDER BY lower(c.name), c.name"#,
        dependencies,
        only,
        include_unreached
    )
    .fetch_all(pool)
    .await?;
    let roots = super::impact::root_calls_by_target(pool, only).await?;
    Ok(rows
        .into_iter()
        .map(|r| TargetSummary {
            id: r.id,
            name: r.name,
            kind: r.kind,
            progress: Progress {
                open: r.open,
                fixed: r.fixed,
                triaged_away: r.triaged_away,
                migrated: r.migrated,
                tests_open: r.tests_open,
            },
            last_scan_status: r.last_scan_status,
            files_failed: r.files_failed,
            scope: r.scope_files.zip(r.scope_why).map(|(files, why)| ScopeNote { files, why }),
            epic_items_open: r.epic_items_open,
            owners: r.owners,
            open_pulls: r.open_pulls,
            last_scan_at: r.last_scan_at,
            last_revision: r.last_revision,
            pinned: r.pinned,
            pulled_in_by: r.pulled_in_by,
            // Only a dependency with open findings holds anyone up.
            blocks_repositories: if r.open > 0 { r.blocks_repositories } else { 0 },
            open_reached: r.indexed.then_some((r.open_reached, r.open_unreached)),
            left_out: r.left_out,
            impact: (r.impact_calls, r.impact_targets),
            root_calls: roots.get(&r.id).copied().unwrap_or(0),
        })
        .collect())
}

/// One target's page: its summary, owner, files, rules, GitHub items and blockers.
pub async fn detail(pool: &PgPool, name: &str) -> sqlx::Result<Option<TargetDetail>> {
    let Some(target) = sqlx::query!(r#"SELECT id, kind AS "kind: TargetKind" FROM targets WHERE name = $1"#, name)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let summary = summaries(pool, target.kind == TargetKind::Dependency, Some(target.id), true)
        .await?
        .pop()
        .expect("the target was just read");
    let owner = sqlx::query_scalar!(
        "SELECT u.login FROM claims c JOIN users u ON u.id = c.owner_id WHERE c.target_id = $1 AND c.released_at IS NULL",
        target.id
    )
    .fetch_optional(pool)
    .await?;
    let files = sqlx::query_as!(
        FileBreakdown,
        r#"SELECT f.path, count(*) FILTER (WHERE p.counts_as = 'open') AS "open!",
                  count(*) FILTER (WHERE p.counts_as IN ('open', 'fixed', 'triaged_away')) AS "total!"
           FROM findings f JOIN finding_progress p ON p.finding_id = f.id
           WHERE f.target_id = $1 AND p.counts_as IN ('open', 'fixed', 'triaged_away')
           GROUP BY f.path
           ORDER BY 2 DESC, f.path
           LIMIT 200"#,
        target.id
    )
    .fetch_all(pool)
    .await?;
    let rules = super::progress::by_rule(pool, Some(target.id))
        .await?
        .into_iter()
        .map(super::progress::RuleProgress::into_rule_count)
        .collect();
    let blockers = super::progress::blockers(pool, target.id)
        .await?
        .into_iter()
        .map(|b| Blocker { package: b.package, version: b.version, open: b.open, chain: b.chain })
        .collect();
    let apis = super::impact::apis_of(pool, target.id).await?;
    let root_holders = super::impact::root_holders(pool, target.id).await?;
    let upgrade =
        if target.kind == TargetKind::Dependency { super::upgrades::advice(pool, target.id).await? } else { None };
    let unread_files = sqlx::query!(
        r#"SELECT u.path, u.reason FROM scan_unread_files u
           WHERE u.scan_id = (SELECT s.id FROM scans s WHERE s.target_id = $1 AND s.status <> 'running'
                              ORDER BY s.started_at DESC, s.id DESC LIMIT 1)
           ORDER BY u.path LIMIT 50"#,
        target.id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.path, r.reason))
    .collect();
    let coverage = sqlx::query_scalar!(
        r#"SELECT s.coverage AS "coverage: sqlx::types::Json<crate::views::CoverageView>" FROM scans s
           WHERE s.target_id = $1 AND s.status <> 'running'
           ORDER BY s.started_at DESC, s.id DESC LIMIT 1"#,
        target.id
    )
    .fetch_optional(pool)
    .await?
    .flatten()
    .map(|c| c.0);
    Ok(Some(TargetDetail {
        coverage,
        unread_files,
        apis,
        root_holders,
        upgrade,
        github: super::findings::github_for(pool, None, target.id).await?,
        summary,
        owner,
        files,
        rules,
        blockers,
    }))
}

/// The platform repository's name (the first registered), if there is one.
pub async fn platform_name(db: impl PgExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT name FROM targets WHERE kind = 'platform' ORDER BY id LIMIT 1").fetch_optional(db).await
}

/// The id of the target named `name`.
pub async fn id_by_name(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM targets WHERE name = $1", name).fetch_optional(db).await
}

/// A target as the rescans need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub id: i64,
    pub kind: TargetKind,
    pub name: String,
    pub default_branch: Option<String>,
    /// Requirements files a push is watched for (repositories).
    pub requirements_paths: Vec<String>,
}

/// The target named `name`, if tracked (a repository whose tracking was stopped is not).
pub async fn tracked(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<Option<Tracked>> {
    sqlx::query_as!(
        Tracked,
        r#"SELECT id, kind AS "kind: TargetKind", name, default_branch, requirements_paths
           FROM targets WHERE name = $1 AND tracking_stopped_at IS NULL"#,
        name
    )
    .fetch_optional(db)
    .await
}

/// The target with this id, if tracked.
pub async fn tracked_by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Tracked>> {
    sqlx::query_as!(
        Tracked,
        r#"SELECT id, kind AS "kind: TargetKind", name, default_branch, requirements_paths
           FROM targets WHERE id = $1 AND tracking_stopped_at IS NULL"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// What tracking a repository did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracking {
    /// A new target.
    Started(i64),
    /// A repository whose tracking had stopped is tracked again.
    Resumed(i64),
    /// It was tracked already.
    Already(i64),
}

impl Tracking {
    pub fn id(self) -> i64 {
        match self {
            Tracking::Started(id) | Tracking::Resumed(id) | Tracking::Already(id) => id,
        }
    }
}

/// Tracks the repository `name` (`owner/name`): a new library target, or the existing one
/// with its tracking resumed. A dependency of that name stays a dependency (`None`).
pub async fn track_repository(db: &mut sqlx::PgConnection, name: &str) -> sqlx::Result<Option<Tracking>> {
    let existing = sqlx::query!(
        r#"SELECT id, kind AS "kind: TargetKind", tracking_stopped_at IS NOT NULL AS "stopped!" FROM targets WHERE name = $1"#,
        name
    )
    .fetch_optional(&mut *db)
    .await?;
    match existing {
        Some(target) if !target.kind.is_repository() => Ok(None),
        Some(target) if target.stopped => {
            sqlx::query!("UPDATE targets SET tracking_stopped_at = NULL WHERE id = $1", target.id)
                .execute(&mut *db)
                .await?;
            Ok(Some(Tracking::Resumed(target.id)))
        }
        Some(target) => Ok(Some(Tracking::Already(target.id))),
        None => Ok(Some(Tracking::Started(upsert(&mut *db, TargetKind::Library, name).await?))),
    }
}

/// Stops tracking the repository `name`: its history stays, nothing is scanned any more.
/// False when no tracked repository has that name.
pub async fn untrack_repository(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE targets SET tracking_stopped_at = now()
         WHERE name = $1 AND kind <> 'dependency' AND tracking_stopped_at IS NULL",
        name
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Remembers the repository's default branch as GitHub said it (pushes elsewhere are not
/// scanned).
pub async fn set_default_branch(db: impl PgExecutor<'_>, id: i64, branch: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE targets SET default_branch = $2 WHERE id = $1 AND default_branch IS DISTINCT FROM $2",
        id,
        branch
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Watches `path` of a repository for pin changes from now on.
pub async fn watch_requirements(db: impl PgExecutor<'_>, id: i64, path: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE targets SET requirements_paths = ARRAY(SELECT DISTINCT unnest(requirements_paths || ARRAY[$2]) ORDER BY 1)
           WHERE id = $1 AND kind <> 'dependency' AND NOT $2 = ANY(requirements_paths)"#,
        id,
        path
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A target due for a rescan: its last complete scan (with what it scanned) is older than
/// the interval, or it never had one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub kind: TargetKind,
    pub name: String,
    /// The commit (repositories) or version (dependencies) last scanned.
    pub revision: Option<String>,
}

/// Targets whose last complete scan finished before `before` (or that have none).
pub async fn due_for_rescan(db: impl PgExecutor<'_>, before: chrono::DateTime<chrono::Utc>) -> sqlx::Result<Vec<Due>> {
    sqlx::query_as!(
        Due,
        r#"SELECT t.id, t.kind AS "kind: TargetKind", t.name, last.revision
           FROM targets t
           LEFT JOIN LATERAL (
               SELECT s.finished_at, s.revision FROM scans s
               WHERE s.target_id = t.id AND s.status = 'complete'
               ORDER BY s.id DESC LIMIT 1
           ) last ON true
           WHERE t.tracking_stopped_at IS NULL AND (last.finished_at IS NULL OR last.finished_at < $1)
           ORDER BY t.id"#,
        before as _
    )
    .fetch_all(db)
    .await
}

/// The revision (commit or version) of the target's last complete scan, if it has one.
pub async fn last_scanned_revision(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<Option<String>> {
    let revision = sqlx::query_scalar!(
        r#"SELECT s.revision FROM scans s JOIN targets t ON t.id = s.target_id
           WHERE t.name = $1 AND s.status = 'complete' ORDER BY s.id DESC LIMIT 1"#,
        name
    )
    .fetch_optional(db)
    .await?;
    Ok(revision.flatten())
}

/// Every target's name, in id order.
pub async fn all_names(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT name FROM targets ORDER BY id").fetch_all(db).await
}

/// Every target with its latest scan (repositories first, then by name).
pub async fn last_scans(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<crate::views::LastScanView>> {
    sqlx::query_as!(
        crate::views::LastScanView,
        r#"SELECT t.id AS target_id, t.name, t.kind AS "kind: TargetKind", s.revision AS "revision?",
                  s.finished_at AS "finished_at?: chrono::DateTime<chrono::Utc>", s.status AS "status?"
           FROM targets t
           LEFT JOIN LATERAL (SELECT revision, finished_at, status FROM scans WHERE target_id = t.id
                              ORDER BY id DESC LIMIT 1) s ON true
           ORDER BY t.kind = 'dependency', t.name"#
    )
    .fetch_all(db)
    .await
}
