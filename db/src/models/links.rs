//! Links between findings or targets and GitHub issues or pull requests (`links`), and how
//! each was made ([`LinkHow`]). Derived links are only ever added (a conflict is a link that
//! exists, or that a maintainer removed: it stays removed); a maintainer adds and removes
//! links by hand, and each of those is an event.

use sqlx::PgConnection;

use super::events::{self, About, Event, LinkAdded, LinkRemoved};
use crate::kinds::{Item, LinkHow};

/// The GitHub side of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitHubSide {
    Issue(i64),
    Pull(i64),
}

impl GitHubSide {
    /// `(issue_id, pull_id)`: the columns this side fills.
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            GitHubSide::Issue(id) => (Some(id), None),
            GitHubSide::Pull(id) => (None, Some(id)),
        }
    }
}

/// The synced issue or pull request `repository#number` (names compared as GitHub does,
/// ignoring case), if there is one.
pub async fn side_of(db: &mut PgConnection, repository: &str, number: i32) -> sqlx::Result<Option<GitHubSide>> {
    let found = sqlx::query!(
        r#"SELECT id AS "id!", false AS "pull!" FROM gh_issues WHERE lower(repository) = lower($1) AND number = $2
           UNION ALL
           SELECT id, true FROM gh_pulls WHERE lower(repository) = lower($1) AND number = $2
           LIMIT 1"#,
        repository,
        number
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|r| if r.pull { GitHubSide::Pull(r.id) } else { GitHubSide::Issue(r.id) }))
}

fn item_columns(item: Item) -> (Option<i64>, Option<i64>) {
    match item {
        Item::Finding(id) => (Some(id), None),
        Item::Target(id) => (None, Some(id)),
    }
}

/// Links `side` to the findings `finding_ids` that exist (named by their Unthread URL).
pub async fn add_explicit(db: &mut PgConnection, side: GitHubSide, finding_ids: &[i64]) -> sqlx::Result<u64> {
    let (issue_id, pull_id) = side.columns();
    let added = sqlx::query!(
        "INSERT INTO links (finding_id, issue_id, pull_id, how)
         SELECT f.id, $2, $3, $4 FROM findings f WHERE f.id = ANY($1)
         ON CONFLICT DO NOTHING",
        finding_ids,
        issue_id,
        pull_id,
        LinkHow::Explicit as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// Links `side` to the open findings whose file path and symbol (its last part) `text`
/// names, in `repository` or in any target whose name `text` contains.
pub async fn add_mentions(db: &mut PgConnection, side: GitHubSide, repository: &str, text: &str) -> sqlx::Result<u64> {
    let (issue_id, pull_id) = side.columns();
    let added = sqlx::query!(
        r#"INSERT INTO links (finding_id, issue_id, pull_id, how)
           SELECT f.id, $3, $4, $5
           FROM targets t JOIN findings f ON f.target_id = t.id
           WHERE (t.name = $2 OR strpos($1, t.name) > 0)
             AND f.fixed_in_scan IS NULL
             AND strpos($1, f.path) > 0
             AND (f.symbol IS NULL OR strpos($1, regexp_replace(f.symbol, '^.*\.', '')) > 0)
           ON CONFLICT DO NOTHING"#,
        text,
        repository,
        issue_id,
        pull_id,
        LinkHow::Mention as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// A permalink to a file of a repository at a commit (`.../blob/<sha>/<path>#L<a>-L<b>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permalink {
    pub repository: String,
    pub path: String,
    /// First and last line; `None`: the whole file.
    pub lines: Option<(i32, i32)>,
}

/// Links `side` to the findings, open or fixed, in the files and lines the permalinks point
/// at (repository names compared as GitHub does, ignoring case).
pub async fn add_permalinks(db: &mut PgConnection, side: GitHubSide, permalinks: &[Permalink]) -> sqlx::Result<u64> {
    if permalinks.is_empty() {
        return Ok(0);
    }
    let (issue_id, pull_id) = side.columns();
    let repositories: Vec<String> = permalinks.iter().map(|p| p.repository.to_lowercase()).collect();
    let paths: Vec<String> = permalinks.iter().map(|p| p.path.clone()).collect();
    let firsts: Vec<i32> = permalinks.iter().map(|p| p.lines.map_or(0, |l| l.0)).collect();
    let lasts: Vec<i32> = permalinks.iter().map(|p| p.lines.map_or(i32::MAX, |l| l.1)).collect();
    let added = sqlx::query!(
        "INSERT INTO links (finding_id, issue_id, pull_id, how)
         SELECT DISTINCT f.id, $5::bigint, $6::bigint, $7
         FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::int4[]) AS p(repository, path, first_line, last_line)
         JOIN targets t ON lower(t.name) = p.repository
         JOIN findings f ON f.target_id = t.id AND f.path = p.path
         WHERE f.start_line <= p.last_line AND f.end_line >= p.first_line
         ON CONFLICT DO NOTHING",
        &repositories,
        &paths,
        &firsts,
        &lasts,
        issue_id,
        pull_id,
        LinkHow::Mention as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// Links a pull request to the findings of its repository in the files it changes.
pub async fn add_by_path(db: &mut PgConnection, pull_id: i64, repository: &str, files: &[String]) -> sqlx::Result<u64> {
    let added = sqlx::query!(
        "INSERT INTO links (finding_id, pull_id, how)
         SELECT f.id, $1, $4 FROM targets t JOIN findings f ON f.target_id = t.id
         WHERE t.name = $2 AND f.path = ANY($3)
         ON CONFLICT DO NOTHING",
        pull_id,
        repository,
        files,
        LinkHow::Path as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// Links `side` to the dependency targets named by `names` (inline code in its text, like
/// `` `crum` ``): by the target's name, a package it provides, or the top-level import
/// package of its files (`crum/__init__.py`). The item is about that dependency as a whole.
pub async fn add_named_dependencies(db: &mut PgConnection, side: GitHubSide, names: &[String]) -> sqlx::Result<u64> {
    if names.is_empty() {
        return Ok(0);
    }
    let (issue_id, pull_id) = side.columns();
    let added = sqlx::query!(
        r#"INSERT INTO links (target_id, issue_id, pull_id, how)
           SELECT DISTINCT t.id, $2::bigint, $3::bigint, $4
           FROM targets t
           WHERE t.kind = 'dependency'
             AND (lower(t.name) = ANY($1)
                  OR EXISTS (SELECT 1 FROM target_packages tp JOIN packages p ON p.id = tp.package_id
                             WHERE tp.target_id = t.id AND lower(p.name) = ANY($1))
                  OR EXISTS (SELECT 1 FROM findings f
                             WHERE f.target_id = t.id AND split_part(f.path, '/', 1) = ANY($1)
                               AND f.path LIKE '%/%'))
           ON CONFLICT DO NOTHING"#,
        names,
        issue_id,
        pull_id,
        LinkHow::Mention as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// Links a sub-issue of an epic to the target of its repository, when that is tracked.
pub async fn add_sub_issue(db: &mut PgConnection, issue_id: i64, repository: &str) -> sqlx::Result<u64> {
    let added = sqlx::query!(
        "INSERT INTO links (target_id, issue_id, how)
         SELECT t.id, $1, $3 FROM targets t WHERE t.name = $2
         ON CONFLICT DO NOTHING",
        issue_id,
        repository,
        LinkHow::SubIssue as LinkHow
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected())
}

/// Links `item` to `side` as a derived link of kind `how` would (the demo's history).
pub async fn add_derived(db: &mut PgConnection, item: Item, side: GitHubSide, how: LinkHow) -> sqlx::Result<()> {
    let (finding_id, target_id) = item_columns(item);
    let (issue_id, pull_id) = side.columns();
    sqlx::query!(
        "INSERT INTO links (finding_id, target_id, issue_id, pull_id, how) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (finding_id, target_id, issue_id, pull_id) DO NOTHING",
        finding_id,
        target_id,
        issue_id,
        pull_id,
        how as LinkHow
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A maintainer links `item` to an issue or pull request by hand. A link that was removed
/// before is restored. Returns the link's id.
pub async fn add_manual(db: &mut PgConnection, item: Item, side: GitHubSide, by: &str) -> sqlx::Result<i64> {
    let (finding_id, target_id) = item_columns(item);
    let (issue_id, pull_id) = side.columns();
    let id = sqlx::query_scalar!(
        "INSERT INTO links (finding_id, target_id, issue_id, pull_id, how, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (finding_id, target_id, issue_id, pull_id)
         DO UPDATE SET removed_at = NULL, removed_by = NULL
         RETURNING id",
        finding_id,
        target_id,
        issue_id,
        pull_id,
        LinkHow::Manual as LinkHow,
        by
    )
    .fetch_one(&mut *db)
    .await?;
    let about = About { finding_id, target_id, ..About::by(by) };
    events::record(&mut *db, &Event::LinkAdded(LinkAdded { link: id, issue: issue_id, pull: pull_id }), about).await?;
    Ok(id)
}

/// A maintainer removes a link. It stays recorded as removed, so that no sync brings it
/// back. False when there was no such active link.
pub async fn remove(db: &mut PgConnection, link_id: i64, by: &str) -> sqlx::Result<bool> {
    let removed = sqlx::query!(
        "UPDATE links SET removed_at = now(), removed_by = $2 WHERE id = $1 AND removed_at IS NULL
         RETURNING finding_id, target_id",
        link_id,
        by
    )
    .fetch_optional(&mut *db)
    .await?;
    let Some(removed) = removed else { return Ok(false) };
    let about = About { finding_id: removed.finding_id, target_id: removed.target_id, ..About::by(by) };
    events::record(&mut *db, &Event::LinkRemoved(LinkRemoved { link: link_id }), about).await?;
    Ok(true)
}

/// For each of `finding_ids`, the open GitHub issues and pull requests that name it
/// (`link_names_finding()`), by number.
pub async fn open_items_naming(
    db: impl sqlx::PgExecutor<'_>,
    finding_ids: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, Vec<crate::views::ItemRef>>> {
    let rows = sqlx::query!(
        r#"SELECT l.finding_id AS "finding_id!",
                  coalesce(i.repository, p.repository) AS "repository!", coalesce(i.number, p.number) AS "number!",
                  coalesce(i.title, p.title) AS "title!", coalesce(i.html_url, p.html_url) AS "html_url!",
                  p.id IS NOT NULL AS "is_pull!"
           FROM links l
           LEFT JOIN gh_issues i ON i.id = l.issue_id
           LEFT JOIN gh_pulls p ON p.id = l.pull_id
           WHERE l.finding_id = ANY($1) AND l.removed_at IS NULL AND link_names_finding(l.how)
             AND coalesce(i.state, p.state) = 'open'
           ORDER BY 1, 2, 3"#,
        finding_ids
    )
    .fetch_all(db)
    .await?;
    let mut by_finding: std::collections::HashMap<i64, Vec<crate::views::ItemRef>> = std::collections::HashMap::new();
    for r in rows {
        let item = crate::views::ItemRef {
            repository: r.repository,
            number: r.number,
            title: r.title,
            html_url: r.html_url,
            is_pull: r.is_pull,
        };
        let items = by_finding.entry(r.finding_id).or_default();
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(by_finding)
}
