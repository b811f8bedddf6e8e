//! Progress, measured from findings (never from PR state): per target, overall, by rule,
//! and which dependencies with open findings block a repository.
//!
//! What each finding counts as comes from the `finding_progress` view's `counts_as` (the one
//! scope, defined in the migrations; see `crate::progress`): open, fixed, triaged away (in
//! scope: every rule but UT100, outside test code), migrated (UT100: information) and open
//! in tests (counted apart).

use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

use crate::kinds::TargetKind;
pub use crate::progress::Progress;
use crate::views::{BurndownPoint, Changes, Contributor};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetProgress {
    pub target_id: i64,
    pub name: String,
    pub kind: TargetKind,
    pub progress: Progress,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleProgress {
    pub rule: String,
    pub progress: Progress,
}

/// A dependency with open findings that a repository pulls in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub package: String,
    pub version: Option<String>,
    pub target_id: i64,
    pub open: i64,
    /// How the repository reaches it: its requirement file's direct requirement first,
    /// e.g. `["edx-django-utils", "django-crum"]`.
    pub chain: Vec<String>,
}

/// Every target's progress, in name order.
pub async fn by_target(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TargetProgress>> {
    by_target_in(db, true).await
}

/// [`by_target`], leaving out findings in modules no tracked code imports unless
/// `include_unreached` (`finding_progress.unreached`; `db::models::reach`).
pub async fn by_target_in(db: impl PgExecutor<'_>, include_unreached: bool) -> sqlx::Result<Vec<TargetProgress>> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, t.kind AS "kind: TargetKind",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'open') AS "open!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'fixed') AS "fixed!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'triaged_away') AS "triaged_away!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'migrated') AS "migrated!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'tests_open') AS "tests_open!"
           FROM targets t LEFT JOIN finding_progress p ON p.target_id = t.id AND ($1 OR NOT p.unreached)
           GROUP BY t.id
           ORDER BY lower(t.name), t.name"#,
        include_unreached
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TargetProgress {
            target_id: r.id,
            name: r.name,
            kind: r.kind,
            progress: Progress {
                open: r.open,
                fixed: r.fixed,
                triaged_away: r.triaged_away,
                migrated: r.migrated,
                tests_open: r.tests_open,
            },
        })
        .collect())
}

/// Progress of everything together.
pub fn overall(targets: &[TargetProgress]) -> Progress {
    targets.iter().fold(Progress::default(), |mut acc, t| {
        acc.add(&t.progress);
        acc
    })
}

impl RuleProgress {
    /// With the rule's name from the scanner's catalogue, as lists show it.
    pub fn into_rule_count(self) -> crate::views::RuleCount {
        crate::views::RuleCount {
            name: scanner::rules::by_id(&self.rule).map_or_else(String::new, |rule| rule.name.to_owned()),
            rule: self.rule,
            progress: self.progress,
        }
    }
}

/// Progress per rule, over all targets or one.
pub async fn by_rule(db: impl PgExecutor<'_>, target_id: Option<i64>) -> sqlx::Result<Vec<RuleProgress>> {
    by_rule_in(db, target_id, true).await
}

/// [`by_rule`], leaving out findings in modules no tracked code imports unless `include_unreached`.
pub async fn by_rule_in(
    db: impl PgExecutor<'_>,
    target_id: Option<i64>,
    include_unreached: bool,
) -> sqlx::Result<Vec<RuleProgress>> {
    let rows = sqlx::query!(
        r#"SELECT p.rule AS "rule!",
                  count(*) FILTER (WHERE p.counts_as = 'open') AS "open!",
                  count(*) FILTER (WHERE p.counts_as = 'fixed') AS "fixed!",
                  count(*) FILTER (WHERE p.counts_as = 'triaged_away') AS "triaged_away!",
                  count(*) FILTER (WHERE p.counts_as = 'migrated') AS "migrated!",
                  count(*) FILTER (WHERE p.counts_as = 'tests_open') AS "tests_open!"
           FROM finding_progress p
           WHERE ($1::bigint IS NULL OR p.target_id = $1)
             AND ($2 OR NOT p.unreached)
           GROUP BY p.rule
           ORDER BY p.rule"#,
        target_id,
        include_unreached
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RuleProgress {
            rule: r.rule,
            progress: Progress {
                open: r.open,
                fixed: r.fixed,
                triaged_away: r.triaged_away,
                migrated: r.migrated,
                tests_open: r.tests_open,
            },
        })
        .collect())
}

/// Dependencies with open findings that the repository `target_id` pulls in, directly or
/// through the `# via` graph of its requirement files, most open findings first.
pub async fn blockers(db: impl PgExecutor<'_>, target_id: i64) -> sqlx::Result<Vec<Blocker>> {
    let rows = sqlx::query!(
        r#"WITH RECURSIVE reach AS (
               -- Direct requirements: listed in one of the repository's requirement files.
               SELECT e.requirement_file_id, e.child_package_id AS package_id, ARRAY[e.child_package_id] AS chain
               FROM package_edges e JOIN requirement_files rf ON rf.id = e.requirement_file_id
               WHERE rf.target_id = $1 AND e.via_file LIKE '-r %'
             UNION
               SELECT r.requirement_file_id, e.child_package_id, r.chain || e.child_package_id
               FROM reach r
               JOIN package_edges e ON e.requirement_file_id = r.requirement_file_id AND e.parent_package_id = r.package_id
               WHERE NOT e.child_package_id = ANY (r.chain)
           ),
           shortest AS (
               SELECT DISTINCT ON (package_id) package_id, chain
               FROM reach ORDER BY package_id, cardinality(chain), chain
           ),
           open_findings AS (
               SELECT tp.package_id, tp.target_id, count(*) AS open
               FROM target_packages tp
               JOIN finding_progress p ON p.target_id = tp.target_id
               WHERE p.counts_as = 'open'
               GROUP BY tp.package_id, tp.target_id
           )
           SELECT p.name AS "package!", o.target_id AS "target_id!", o.open AS "open!",
                  (SELECT pp.version FROM package_pins pp JOIN requirement_files rf ON rf.id = pp.requirement_file_id
                   WHERE rf.target_id = $1 AND pp.package_id = s.package_id ORDER BY pp.id LIMIT 1) AS version,
                  ARRAY(SELECT cp.name FROM unnest(s.chain) WITH ORDINALITY AS c(id, n)
                        JOIN packages cp ON cp.id = c.id ORDER BY c.n) AS "chain!"
           FROM shortest s
           JOIN open_findings o ON o.package_id = s.package_id
           JOIN packages p ON p.id = s.package_id
           WHERE o.target_id <> $1
           ORDER BY o.open DESC, p.name"#,
        target_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Blocker {
            package: r.package,
            version: r.version,
            target_id: r.target_id,
            open: r.open,
            chain: r.chain,
        })
        .collect())
}

/// Open, fixed and triaged-away findings (parse errors aside) at the end of each day of the
/// last `days` days (fewer when the history is younger), from the event log.
pub async fn burndown(db: impl PgExecutor<'_>, days: i32) -> sqlx::Result<Vec<BurndownPoint>> {
    burndown_in(db, days, true).await
}

/// [`burndown`], leaving out findings in modules no tracked code imports unless
/// `include_unreached`. Reachability is today's: the history is that of today's scope.
pub async fn burndown_in(
    db: impl PgExecutor<'_>,
    days: i32,
    include_unreached: bool,
) -> sqlx::Result<Vec<BurndownPoint>> {
    let rows = sqlx::query!(
        r#"WITH changes AS (
               SELECT e.at,
                      CASE e.kind WHEN 'findings.fixed' THEN -1 ELSE 1 END AS open,
                      CASE e.kind WHEN 'findings.fixed' THEN 1 WHEN 'findings.reopened' THEN -1 ELSE 0 END AS fixed,
                      0 AS triaged
               FROM events e CROSS JOIN LATERAL unnest(e.finding_ids) AS x(id)
               JOIN findings f ON f.id = x.id AND f.rule <> 'UT100' AND NOT f.in_tests
                   AND ($2 OR NOT left_out_by_default(f.target_id, f.path, f.in_tests, f.rule, f.runs_at, f.runs_at_via))
               WHERE e.kind IN ('findings.new', 'findings.reopened', 'findings.fixed')
             UNION ALL
               SELECT e.at, -t.away, 0, t.away
               FROM events e JOIN findings f ON f.id = e.finding_id AND f.rule <> 'UT100' AND NOT f.in_tests
                   AND ($2 OR NOT left_out_by_default(f.target_id, f.path, f.in_tests, f.rule, f.runs_at, f.runs_at_via))
               CROSS JOIN LATERAL (SELECT
                      CASE WHEN e.data->>'to' IN ('false_positive', 'wont_fix') AND e.data->>'from' IN ('open', 'confirmed') THEN 1
                           WHEN e.data->>'from' IN ('false_positive', 'wont_fix') AND e.data->>'to' IN ('open', 'confirmed') THEN -1
                           ELSE 0 END AS away) t
               WHERE e.kind = 'finding.triaged'
           ),
           per_day AS (
               SELECT (at AT TIME ZONE 'UTC')::date AS day, sum(open) AS open, sum(fixed) AS fixed, sum(triaged) AS triaged
               FROM changes GROUP BY 1
           ),
           running AS (
               SELECT day, sum(open) OVER w AS open, sum(fixed) OVER w AS fixed, sum(triaged) OVER w AS triaged
               FROM per_day WINDOW w AS (ORDER BY day)
           ),
           days AS (
               SELECT generate_series(
                          greatest((now() AT TIME ZONE 'UTC')::date - ($1::int - 1),
                                   coalesce((SELECT min(day) FROM per_day), (now() AT TIME ZONE 'UTC')::date)),
                          (now() AT TIME ZONE 'UTC')::date, '1 day')::date AS day
           )
           SELECT d.day AS "day!: chrono::NaiveDate",
                  coalesce(r.open, 0)::bigint AS "open!", coalesce(r.fixed, 0)::bigint AS "fixed!",
                  coalesce(r.triaged, 0)::bigint AS "triaged!"
           FROM days d
           LEFT JOIN LATERAL (SELECT * FROM running r WHERE r.day <= d.day ORDER BY r.day DESC LIMIT 1) r ON true
           ORDER BY d.day"#,
        days,
        include_unreached
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BurndownPoint { day: r.day, open: r.open, fixed: r.fixed, triaged: r.triaged })
        .collect())
}

/// Open findings (parse errors aside, triage not counted) of each repository at the end of
/// each of the last `weeks` weeks (the current one last, as it stands), for sparklines.
pub async fn weekly_open_of_repositories(db: impl PgExecutor<'_>, weeks: i32) -> sqlx::Result<Vec<(i64, Vec<i64>)>> {
    let rows = sqlx::query!(
        r#"WITH ends AS (
               SELECT least(now(), date_trunc('week', now()) + interval '1 week' - (n * interval '1 week')) AS week_end, n
               FROM generate_series(0, $1::int - 1) AS n
           )
           SELECT t.id AS "target_id!",
                  array_agg((SELECT count(*) FROM findings f
                             JOIN scans fs ON fs.id = f.first_seen_scan
                             LEFT JOIN scans fx ON fx.id = f.fixed_in_scan
                             WHERE f.target_id = t.id AND f.rule <> 'UT100' AND NOT f.in_tests AND fs.finished_at < e.week_end
                               AND (fx.id IS NULL OR fx.finished_at >= e.week_end)) ORDER BY e.n DESC) AS "open!: Vec<i64>"
           FROM targets t CROSS JOIN ends e
           WHERE t.kind <> 'dependency'
           GROUP BY t.id"#,
        weeks
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.target_id, r.open)).collect())
}

/// Progress of repositories (platform and libraries) and of dependencies.
pub fn by_side(targets: &[TargetProgress]) -> Vec<(String, Progress)> {
    let mut repositories = Progress::default();
    let mut dependencies = Progress::default();
    for t in targets {
        let side = if t.kind == TargetKind::Dependency { &mut dependencies } else { &mut repositories };
        side.add(&t.progress);
    }
    vec![("repositories".into(), repositories), ("dependencies".into(), dependencies)]
}

/// People by findings fixed — under their ownership (claims), or as the author of the merged
/// pull request that fixed them (`github_fixes`) — then by what they own. Local accounts and
/// GitHub people alike; the name says who is who (the demo's people are named "(simulated)").
pub async fn top_contributors(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Contributor>> {
    sqlx::query_as!(
        Contributor,
        r#"WITH owned AS (
               SELECT c.owner_id, f.id AS finding_id, f.fixed_in_scan, s.finished_at AS fixed_at, c.claimed_at, c.released_at
               FROM claims c
               JOIN findings f ON f.id = c.finding_id OR f.target_id = c.target_id
               LEFT JOIN scans s ON s.id = f.fixed_in_scan
               WHERE f.rule <> 'UT100' AND NOT f.in_tests
           ),
           fixes AS (
               SELECT lower(u.login) AS who, o.finding_id FROM owned o JOIN users u ON u.id = o.owner_id
               WHERE o.fixed_at >= o.claimed_at AND (o.released_at IS NULL OR o.fixed_at <= o.released_at)
               UNION
               SELECT lower(g.login), g.finding_id FROM github_fixes g
           ),
           open_owned AS (
               SELECT lower(u.login) AS who, count(DISTINCT o.finding_id) AS n FROM owned o JOIN users u ON u.id = o.owner_id
               WHERE o.fixed_in_scan IS NULL AND o.released_at IS NULL
               GROUP BY 1
           ),
           people AS (SELECT who FROM fixes UNION SELECT who FROM open_owned)
           SELECT coalesce(u.login, (SELECT g.login FROM github_fixes g WHERE lower(g.login) = p.who LIMIT 1)) AS "login!",
                  u.name,
                  u.id IS NULL AS "github_only!",
                  coalesce(oo.n, 0) AS "owned_open!",
                  (SELECT count(DISTINCT x.finding_id) FROM fixes x WHERE x.who = p.who) AS "fixed!"
           FROM people p
           LEFT JOIN users u ON lower(u.login) = p.who
           LEFT JOIN open_owned oo ON oo.who = p.who
           ORDER BY 5 DESC, 4 DESC, 1
           LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// [`Changes`] (`db::views`) from `from` (included) to `to` (excluded).
pub async fn changes_between(
    db: impl PgExecutor<'_>,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Changes> {
    changes_between_in(db, from, to, true).await
}

/// [`changes_between`], leaving out findings in modules no tracked code imports unless
/// `include_unreached` (triage and claims count all the same: they are people's work).
pub async fn changes_between_in(
    db: impl PgExecutor<'_>,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    include_unreached: bool,
) -> sqlx::Result<Changes> {
    let row = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM findings f JOIN scans s ON s.id = f.first_seen_scan
              WHERE f.rule <> 'UT100' AND NOT f.in_tests AND s.finished_at >= $1 AND s.finished_at < $2
                AND ($3 OR NOT left_out_by_default(f.target_id, f.path, f.in_tests, f.rule, f.runs_at, f.runs_at_via))) AS "new!",
             (SELECT count(*) FROM findings f JOIN scans s ON s.id = f.fixed_in_scan
              WHERE f.rule <> 'UT100' AND NOT f.in_tests AND s.finished_at >= $1 AND s.finished_at < $2
                AND ($3 OR NOT left_out_by_default(f.target_id, f.path, f.in_tests, f.rule, f.runs_at, f.runs_at_via))) AS "fixed!",
             (SELECT count(*) FROM events e WHERE e.kind = 'finding.triaged' AND e.at >= $1 AND e.at < $2) AS "triaged!",
             (SELECT count(*) FROM events e WHERE e.kind IN ('claim.added', 'claim.assigned') AND e.at >= $1 AND e.at < $2) AS "claims!""#,
        from as _,
        to as _,
        include_unreached
    )
    .fetch_one(db)
    .await?;
    Ok(Changes { new: row.new, fixed: row.fixed, triaged: row.triaged, claims: row.claims })
}

/// Open findings tracked code is not known to reach — in modules no tracked code imports, or
/// UT013 writes no request or task is known to make (of dependencies only, repositories only,
/// or all): what the pages leave out by default, and say they do.
pub async fn open_unreached(db: impl PgExecutor<'_>, dependencies: Option<bool>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM finding_progress p JOIN targets t ON t.id = p.target_id
           WHERE p.counts_as = 'open' AND p.unreached
             AND ($1::boolean IS NULL OR (t.kind = 'dependency') = $1)"#,
        dependencies
    )
    .fetch_one(db)
    .await
}
