//! The epic as a maintainer oversees it: its items (sub-issues, and the pull requests that
//! touch the findings they name) with their GitHub states, and "filed vs found" — the
//! places the items name (findings with a link of their own) against everything the scans
//! found that nobody filed yet.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

pub use crate::views::{Epic, EpicItem, FiledFound, FiledVsFound};

/// The epic with the most sub-issues (`None` before a sync has stored one).
pub async fn main_epic(db: impl PgExecutor<'_>) -> sqlx::Result<Option<Epic>> {
    sqlx::query_as!(
        Epic,
        r#"SELECT e.repository, e.number, e.title, e.state, e.html_url, e.created_at AS "created_at: DateTime<Utc>"
         FROM gh_issues e
         JOIN gh_issues s ON s.parent_repository = e.repository AND s.parent_number = e.number
         WHERE e.parent_number IS NULL
         GROUP BY e.id
         ORDER BY count(*) DESC, e.created_at
         LIMIT 1"#
    )
    .fetch_optional(db)
    .await
}

/// The epic's sub-issues, and the pull requests linked to a finding one of them names, in
/// the order they were opened.
pub async fn items(db: impl PgExecutor<'_>, epic: &Epic) -> sqlx::Result<Vec<EpicItem>> {
    sqlx::query_as!(
        EpicItem,
        r#"WITH subs AS (
               SELECT * FROM gh_issues WHERE parent_repository = $1 AND parent_number = $2
           ),
           named AS (
               SELECT l.finding_id FROM links l JOIN subs s ON s.id = l.issue_id
               WHERE l.finding_id IS NOT NULL AND l.removed_at IS NULL
           ),
           pulls AS (
               SELECT DISTINCT p.* FROM gh_pulls p JOIN links l ON l.pull_id = p.id AND l.removed_at IS NULL
               WHERE l.finding_id IN (SELECT finding_id FROM named)
           ),
           items AS (
               SELECT s.repository, s.number, s.title, s.html_url, false AS is_pull, s.state,
                      s.closed_at AS done_at, s.created_at,
                      (SELECT array_agg(l.finding_id) FROM links l
                       WHERE l.issue_id = s.id AND l.finding_id IS NOT NULL AND l.removed_at IS NULL) AS findings
               FROM subs s
               UNION ALL
               SELECT p.repository, p.number, p.title, p.html_url, true,
                      CASE WHEN p.merged THEN 'merged' WHEN p.state = 'closed' THEN 'closed'
                           WHEN p.draft THEN 'draft' ELSE 'open' END,
                      coalesce(p.merged_at, p.closed_at), p.created_at,
                      (SELECT array_agg(l.finding_id) FROM links l
                       WHERE l.pull_id = p.id AND l.finding_id IS NOT NULL AND l.removed_at IS NULL)
               FROM pulls p
           )
           SELECT i.repository AS "repository!", i.number AS "number!", i.title AS "title!",
                  i.html_url AS "html_url!", i.is_pull AS "is_pull!", i.state AS "state!", i.done_at AS "done_at: DateTime<Utc>",
                  (SELECT count(*) FROM findings f WHERE f.id = ANY(i.findings) AND f.fixed_in_scan IS NULL) AS "open!",
                  (SELECT count(*) FROM findings f WHERE f.id = ANY(i.findings) AND f.fixed_in_scan IS NOT NULL) AS "fixed!",
                  EXISTS (SELECT 1 FROM targets t JOIN scans sc ON sc.target_id = t.id
                          WHERE lower(t.name) = lower(i.repository)) AS "repository_scanned!"
           FROM items i
           ORDER BY i.created_at, i.repository, i.number"#,
        epic.repository,
        epic.number
    )
    .fetch_all(db)
    .await
}

/// Filed vs found over every target, by target and by rule, now or as of `as_of`: findings
/// first seen before it, open unless fixed by a scan before it, filed when a GitHub item that
/// names them was opened before it, triaged away as the last decision before it says.
pub async fn filed_vs_found(db: impl PgExecutor<'_>, as_of: Option<DateTime<Utc>>) -> sqlx::Result<FiledVsFound> {
    let rows = sqlx::query!(
        r#"WITH f AS (
               SELECT f.target_id, f.rule,
                      (fx.finished_at IS NULL OR fx.finished_at >= coalesce($1, 'infinity'::timestamptz)) AS open,
                      EXISTS (SELECT 1 FROM links l
                              LEFT JOIN gh_issues i ON i.id = l.issue_id LEFT JOIN gh_pulls p ON p.id = l.pull_id
                              WHERE l.finding_id = f.id AND l.removed_at IS NULL
                                AND coalesce(i.created_at, p.created_at) < coalesce($1, 'infinity'::timestamptz)) AS filed
               FROM findings f
               JOIN scans fs ON fs.id = f.first_seen_scan
               LEFT JOIN scans fx ON fx.id = f.fixed_in_scan
               WHERE f.rule <> 'UT100'
                 AND fs.finished_at < coalesce($1, 'infinity'::timestamptz)
                 -- Triage as it stood then: its last decision before `as_of`.
                 AND CASE WHEN $1::timestamptz IS NULL THEN f.triage
                          ELSE coalesce((SELECT e.data->>'to' FROM events e
                                         WHERE e.kind = 'finding.triaged' AND e.finding_id = f.id AND e.at < $1
                                         ORDER BY e.at DESC, e.id DESC LIMIT 1), 'open')
                     END NOT IN ('false_positive', 'wont_fix')
           )
           SELECT t.name AS "target?", f.rule AS "rule?",
                  count(*) AS "found!",
                  count(*) FILTER (WHERE f.filed) AS "filed!",
                  count(*) FILTER (WHERE f.open AND NOT f.filed) AS "open_unfiled!"
           FROM f JOIN targets t ON t.id = f.target_id
           GROUP BY GROUPING SETS ((), (t.name), (f.rule))"#,
        as_of as _
    )
    .fetch_all(db)
    .await?;
    let mut out = FiledVsFound::default();
    for r in rows {
        let row = |name: String| FiledFound { name, found: r.found, filed: r.filed, open_unfiled: r.open_unfiled };
        match (r.target, r.rule) {
            (Some(target), _) => out.by_target.push(row(target)),
            (None, Some(rule)) => out.by_rule.push(row(rule)),
            (None, None) => out.total = Some(row(String::new())),
        }
    }
    let order = |a: &FiledFound, b: &FiledFound| {
        (b.filed > 0).cmp(&(a.filed > 0)).then(b.open_unfiled.cmp(&a.open_unfiled)).then(a.name.cmp(&b.name))
    };
    out.by_target.sort_by(order);
    out.by_rule.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
