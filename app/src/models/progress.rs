//! Progress, measured from findings (never from PR state): per target, overall, by rule,
//! and which dependencies with open findings block a repository.
//!
//! Each finding's state comes from the `finding_progress` view (defined once, in the
//! migrations):
//! - *open*: not fixed, and triaged `open` or `confirmed` (rule UT100 excluded);
//! - *fixed*: a later complete scan no longer sees it;
//! - *migrated*: UT100 findings — context variables already in place count as done;
//! - *triaged away*: `false_positive` or `wont_fix`, shown apart and out of the percentage.

use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub open: i64,
    pub fixed: i64,
    pub migrated: i64,
    pub triaged_away: i64,
}

impl Progress {
    /// Items that count: done plus open (triaged-away items are shown apart).
    pub fn total(&self) -> i64 {
        self.open + self.fixed + self.migrated
    }

    /// Share done, 0–100; 100 for a target with nothing to do.
    pub fn percent_done(&self) -> f64 {
        match self.total() {
            0 => 100.0,
            total => 100.0 * (self.fixed + self.migrated) as f64 / total as f64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetProgress {
    pub target_id: i64,
    pub name: String,
    pub kind: String,
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
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, t.kind,
                  count(*) FILTER (WHERE p.state = 'open') AS "open!",
                  count(*) FILTER (WHERE p.state = 'fixed') AS "fixed!",
                  count(*) FILTER (WHERE p.state = 'migrated') AS "migrated!",
                  count(*) FILTER (WHERE p.state = 'triaged_away') AS "triaged_away!"
           FROM targets t LEFT JOIN finding_progress p ON p.target_id = t.id
           GROUP BY t.id
           ORDER BY lower(t.name), t.name"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TargetProgress {
            target_id: r.id,
            name: r.name,
            kind: r.kind,
            progress: Progress { open: r.open, fixed: r.fixed, migrated: r.migrated, triaged_away: r.triaged_away },
        })
        .collect())
}

/// Progress of everything together.
pub fn overall(targets: &[TargetProgress]) -> Progress {
    targets.iter().fold(Progress::default(), |acc, t| Progress {
        open: acc.open + t.progress.open,
        fixed: acc.fixed + t.progress.fixed,
        migrated: acc.migrated + t.progress.migrated,
        triaged_away: acc.triaged_away + t.progress.triaged_away,
    })
}

/// Progress per rule, over all targets or one.
pub async fn by_rule(db: impl PgExecutor<'_>, target_id: Option<i64>) -> sqlx::Result<Vec<RuleProgress>> {
    let rows = sqlx::query!(
        r#"SELECT p.rule AS "rule!",
                  count(*) FILTER (WHERE p.state = 'open') AS "open!",
                  count(*) FILTER (WHERE p.state = 'fixed') AS "fixed!",
                  count(*) FILTER (WHERE p.state = 'migrated') AS "migrated!",
                  count(*) FILTER (WHERE p.state = 'triaged_away') AS "triaged_away!"
           FROM finding_progress p
           WHERE $1::bigint IS NULL OR p.target_id = $1
           GROUP BY p.rule
           ORDER BY p.rule"#,
        target_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RuleProgress {
            rule: r.rule,
            progress: Progress { open: r.open, fixed: r.fixed, migrated: r.migrated, triaged_away: r.triaged_away },
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
               WHERE p.state = 'open'
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
