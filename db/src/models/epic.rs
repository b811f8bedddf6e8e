//! The epic as a maintainer oversees it: its items (sub-issues, and the pull requests that
//! touch the findings they name) with their GitHub states, and "filed vs found" — the
//! places the items name (findings with a link of their own) against everything the scans
//! found that nobody filed yet.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

pub use crate::views::{Epic, EpicItem, FiledFound, FiledVsFound, ItemRef, UnassignedItem};

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
               WHERE l.finding_id IS NOT NULL AND l.removed_at IS NULL AND link_names_finding(l.how)
           ),
           pulls AS (
               SELECT DISTINCT p.* FROM gh_pulls p JOIN links l ON l.pull_id = p.id AND l.removed_at IS NULL
               WHERE l.finding_id IN (SELECT finding_id FROM named)
           ),
           items AS (
               SELECT s.id AS issue_id, NULL::bigint AS pull_id, s.repository, s.number, s.title, s.html_url,
                      false AS is_pull, s.state, s.closed_at AS done_at, s.created_at, s.updated_at, s.assignees, s.body
               FROM subs s
               UNION ALL
               SELECT NULL, p.id, p.repository, p.number, p.title, p.html_url, true,
                      CASE WHEN p.merged THEN 'merged' WHEN p.state = 'closed' THEN 'closed'
                           WHEN p.draft THEN 'draft' ELSE 'open' END,
                      coalesce(p.merged_at, p.closed_at), p.created_at, p.updated_at, p.assignees, p.body
               FROM pulls p
           ),
           item_links AS (
               SELECT i.repository, i.number, i.is_pull, l.finding_id, l.target_id, link_names_finding(l.how) AS names
               FROM items i JOIN links l ON l.removed_at IS NULL
                   AND (l.issue_id = i.issue_id OR l.pull_id = i.pull_id)
           )
           SELECT i.repository AS "repository!", i.number AS "number!", i.title AS "title!",
                  i.html_url AS "html_url!", i.is_pull AS "is_pull!", i.state AS "state!", i.done_at AS "done_at: DateTime<Utc>",
                  i.created_at AS "created_at!: DateTime<Utc>", i.updated_at AS "updated_at!: DateTime<Utc>",
                  i.assignees AS "assignees!",
                  c.open AS "open!", c.fixed AS "fixed!", c.touched_open AS "touched_open!",
                  c.touched_fixed AS "touched_fixed!",
                  -- Targets it is about other than its own repository (a dependency it names).
                  ARRAY(SELECT DISTINCT t.name FROM item_links il JOIN targets t ON t.id = il.target_id
                        WHERE (il.repository, il.number, il.is_pull) = (i.repository, i.number, i.is_pull)
                          AND lower(t.name) <> lower(i.repository) ORDER BY 1) AS "about!",
                  -- It points at code: a permalink to a file, or a Python file's path.
                  (coalesce(i.title, '') || ' ' || coalesce(i.body, '')) ~ '(github\.com/[^/\s]+/[^/\s]+/blob/|[A-Za-z0-9_]/[A-Za-z0-9_/]*\.py\M)' AS "names_place!",
                  EXISTS (SELECT 1 FROM targets t JOIN scans sc ON sc.target_id = t.id
                          WHERE lower(t.name) = lower(i.repository)) AS "repository_scanned!",
                  -- An issue's pull requests: those linked to a finding it names.
                  ARRAY(SELECT DISTINCT pl.repository || '#' || pl.number
                        FROM item_links il JOIN item_links pl ON pl.finding_id = il.finding_id AND pl.is_pull
                        WHERE NOT i.is_pull AND il.names AND (il.repository, il.number, il.is_pull) = (i.repository, i.number, false)
                        ORDER BY 1) AS "pulls!",
                  -- Its repository's last scan read only some of its files: how many.
                  (SELECT cardinality(sc.scope_paths) FROM targets t JOIN scans sc ON sc.target_id = t.id
                   WHERE lower(t.name) = lower(i.repository) AND sc.status <> 'running'
                   ORDER BY sc.id DESC LIMIT 1) AS "scanned_files_only?"
           FROM items i
           -- The findings it names (`names`) and those a pull request only touched, open and fixed.
           CROSS JOIN LATERAL (
               SELECT count(DISTINCT f.id) FILTER (WHERE il.names AND f.fixed_in_scan IS NULL) AS open,
                      count(DISTINCT f.id) FILTER (WHERE il.names AND f.fixed_in_scan IS NOT NULL) AS fixed,
                      count(DISTINCT f.id) FILTER (WHERE NOT il.names AND f.fixed_in_scan IS NULL) AS touched_open,
                      count(DISTINCT f.id) FILTER (WHERE NOT il.names AND f.fixed_in_scan IS NOT NULL) AS touched_fixed
               FROM item_links il JOIN findings f ON f.id = il.finding_id
               WHERE (il.repository, il.number, il.is_pull) = (i.repository, i.number, i.is_pull)
           ) c
           ORDER BY i.created_at, i.repository, i.number"#,
        epic.repository,
        epic.number
    )
    .fetch_all(db)
    .await
}

/// Filed vs found over every target, by target and by rule, now or as of `as_of`: findings in
/// scope first seen before it (found: the same total as every page's), open unless fixed by a
/// scan before it or triaged away as the last decision before it says, filed when a GitHub
/// item that names them was opened before it. Findings the pages leave out by default
/// (`left_out_by_default()`) count only when `include_left_out`, as on those pages.
pub async fn filed_vs_found(
    db: impl PgExecutor<'_>,
    as_of: Option<DateTime<Utc>>,
    include_left_out: bool,
) -> sqlx::Result<FiledVsFound> {
    let rows = sqlx::query!(
        r#"WITH f0 AS (
               SELECT f.id, f.target_id, f.rule, f.triage,
                      (fx.finished_at IS NULL OR fx.finished_at >= coalesce($1, 'infinity'::timestamptz)) AS open,
                      EXISTS (SELECT 1 FROM links l
                              LEFT JOIN gh_issues i ON i.id = l.issue_id LEFT JOIN gh_pulls p ON p.id = l.pull_id
                              WHERE l.finding_id = f.id AND l.removed_at IS NULL AND link_names_finding(l.how)
                                AND coalesce(i.created_at, p.created_at) < coalesce($1, 'infinity'::timestamptz)) AS filed
               FROM findings f
               JOIN scans fs ON fs.id = f.first_seen_scan
               LEFT JOIN scans fx ON fx.id = f.fixed_in_scan
               -- The scope (`finding_progress.counts_as`): every rule but UT100, outside tests.
               WHERE f.rule <> 'UT100' AND NOT f.in_tests
                 AND fs.finished_at < coalesce($1, 'infinity'::timestamptz)
                 AND ($2 OR NOT left_out_by_default(f.target_id, f.path, f.in_tests, f.rule, f.runs_at, f.runs_at_via))
           ),
           f AS (
               SELECT f0.*,
                      -- Open: not fixed then, and not triaged away as its last decision before
                      -- `as_of` says.
                      f0.open AND CASE WHEN $1::timestamptz IS NULL THEN f0.triage
                                       ELSE coalesce((SELECT e.data->>'to' FROM events e
                                                      WHERE e.kind = 'finding.triaged' AND e.finding_id = f0.id AND e.at < $1
                                                      ORDER BY e.at DESC, e.id DESC LIMIT 1), 'open')
                                  END NOT IN ('false_positive', 'wont_fix') AS open_now
               FROM f0
           )
           SELECT t.name AS "target?", f.rule AS "rule?",
                  count(*) AS "found!",
                  count(*) FILTER (WHERE f.filed) AS "filed!",
                  count(*) FILTER (WHERE f.open_now AND NOT f.filed) AS "open_unfiled!"
           FROM f JOIN targets t ON t.id = f.target_id
           GROUP BY GROUPING SETS ((), (t.name), (f.rule))"#,
        as_of as _,
        include_left_out
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

/// The epic's open sub-issues nobody is assigned to on GitHub, oldest first, each with the
/// open findings it names (`link_names_finding()`): filed work waiting for someone.
pub async fn unassigned_open_items(db: impl PgExecutor<'_>, epic: &Epic) -> sqlx::Result<Vec<UnassignedItem>> {
    let rows = sqlx::query!(
        r#"SELECT i.repository, i.number, i.title, i.html_url,
                  i.created_at AS "created_at: DateTime<Utc>", i.updated_at AS "updated_at: DateTime<Utc>",
                  f.id AS "finding_id?", f.rule AS "rule?", t.name AS "target?", f.path AS "path?", f.start_line AS "line?"
           FROM gh_issues i
           LEFT JOIN links l ON l.issue_id = i.id AND l.removed_at IS NULL AND link_names_finding(l.how)
           LEFT JOIN findings f ON f.id = l.finding_id AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           LEFT JOIN targets t ON t.id = f.target_id
           WHERE i.parent_repository = $1 AND i.parent_number = $2 AND i.state = 'open'
             AND cardinality(i.assignees) = 0
           ORDER BY i.created_at, i.repository, i.number, f.path, f.start_line"#,
        epic.repository,
        epic.number
    )
    .fetch_all(db)
    .await?;
    let mut items: Vec<UnassignedItem> = Vec::new();
    for r in rows {
        if items
            .last()
            .is_none_or(|last| (last.item.repository.as_str(), last.item.number) != (r.repository.as_str(), r.number))
        {
            items.push(UnassignedItem {
                item: ItemRef {
                    repository: r.repository.clone(),
                    number: r.number,
                    title: r.title.clone(),
                    html_url: r.html_url.clone(),
                    is_pull: false,
                },
                created_at: r.created_at,
                updated_at: r.updated_at,
                names: Vec::new(),
            });
        }
        if let (Some(id), Some(rule), Some(target), Some(path), Some(line), Some(last)) =
            (r.finding_id, r.rule, r.target, r.path, r.line, items.last_mut())
        {
            last.names.push((id, rule, target, path, line));
        }
    }
    Ok(items)
}
