//! Links between GitHub issues / pull requests and Unthread's findings and targets, derived
//! from what GitHub says:
//!
//! - `explicit`: the title or body names a finding by its Unthread URL (`.../findings/123`);
//! - `mention`: the title or body names a finding's file path and its symbol's last part
//!   (`lms/djangoapps/courseware/views.py` ... `RequestCache`), in the issue's own repository
//!   or in a target the text names;
//! - `path`: a pull request changes the file of a finding of its repository;
//! - `sub_issue`: an issue under an epic belongs to a tracked repository: linked to that
//!   target.
//!
//! Derivation only adds links; a link a maintainer removed stays removed (its row is kept,
//! marked removed, and blocks the same link from coming back), and manual links are kept.

use db::models::events::{self, About, Event, LinkAdded, LinkRemoved};
use std::sync::LazyLock;

use regex::Regex;
use sqlx::PgConnection;

/// A finding's address in Unthread: `/findings/<id>` (any host).
static FINDING_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/findings/([0-9]{1,18})\b").expect("valid pattern"));

fn explicit_finding_ids(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = FINDING_URL.captures_iter(text).filter_map(|c| c[1].parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Which column a link's GitHub side goes in.
#[derive(Clone, Copy, Debug)]
pub enum GitHubItem {
    Issue(i64),
    Pull(i64),
}

impl GitHubItem {
    fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            GitHubItem::Issue(id) => (Some(id), None),
            GitHubItem::Pull(id) => (None, Some(id)),
        }
    }
}

/// Adds the links `item` (in `repository`, with `title` and `body`) implies. Returns how many
/// were new.
pub async fn link_text(
    db: &mut PgConnection,
    item: GitHubItem,
    repository: &str,
    title: &str,
    body: Option<&str>,
) -> sqlx::Result<u64> {
    let text = format!("{title}\n{}", body.unwrap_or(""));
    let (issue_id, pull_id) = item.columns();
    let explicit = sqlx::query(
        "INSERT INTO links (finding_id, issue_id, pull_id, how)
         SELECT f.id, $2, $3, 'explicit' FROM findings f WHERE f.id = ANY($1)
         ON CONFLICT DO NOTHING",
    )
    .bind(explicit_finding_ids(&text))
    .bind(issue_id)
    .bind(pull_id)
    .execute(&mut *db)
    .await?
    .rows_affected();
    let mentioned = sqlx::query(
        r#"INSERT INTO links (finding_id, issue_id, pull_id, how)
           SELECT f.id, $3, $4, 'mention'
           FROM targets t JOIN findings f ON f.target_id = t.id
           WHERE (t.name = $2 OR strpos($1, t.name) > 0)
             AND f.fixed_in_scan IS NULL
             AND strpos($1, f.path) > 0
             AND (f.symbol IS NULL OR strpos($1, regexp_replace(f.symbol, '^.*\.', '')) > 0)
           ON CONFLICT DO NOTHING"#,
    )
    .bind(&text)
    .bind(repository)
    .bind(issue_id)
    .bind(pull_id)
    .execute(&mut *db)
    .await?
    .rows_affected();
    Ok(explicit + mentioned)
}

/// Links a pull request to the findings of its repository in the files it changes.
pub async fn link_pull_files(
    db: &mut PgConnection,
    pull_id: i64,
    repository: &str,
    files: &[String],
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "INSERT INTO links (finding_id, pull_id, how)
         SELECT f.id, $1, 'path' FROM targets t JOIN findings f ON f.target_id = t.id
         WHERE t.name = $2 AND f.path = ANY($3)
         ON CONFLICT DO NOTHING",
    )
    .bind(pull_id)
    .bind(repository)
    .bind(files)
    .execute(db)
    .await?
    .rows_affected())
}

/// Links a sub-issue of an epic to the target of its repository, when that is tracked.
pub async fn link_sub_issue(db: &mut PgConnection, issue_id: i64, repository: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "INSERT INTO links (target_id, issue_id, how)
         SELECT t.id, $1, 'sub_issue' FROM targets t WHERE t.name = $2
         ON CONFLICT DO NOTHING",
    )
    .bind(issue_id)
    .bind(repository)
    .execute(db)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::explicit_finding_ids;

    #[test]
    fn finding_urls() {
        let text = "Fixes https://unthread.example.org/findings/42 and /findings/7, not /findings/x or findings/9";
        assert_eq!(explicit_finding_ids(text), [7, 42]);
    }
}

/// What a manual link connects.
#[derive(Clone, Copy, Debug)]
pub enum LinkedItem {
    Finding(i64),
    Target(i64),
}

/// A maintainer links `item` to an issue or pull request by hand. A link that was removed
/// before is restored. Returns the link's id.
pub async fn add_manual_link(
    db: &mut PgConnection,
    item: LinkedItem,
    github: GitHubItem,
    by: &str,
) -> sqlx::Result<i64> {
    let (finding_id, target_id) = match item {
        LinkedItem::Finding(id) => (Some(id), None),
        LinkedItem::Target(id) => (None, Some(id)),
    };
    let (issue_id, pull_id) = github.columns();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO links (finding_id, target_id, issue_id, pull_id, how, created_by)
         VALUES ($1, $2, $3, $4, 'manual', $5)
         ON CONFLICT (finding_id, target_id, issue_id, pull_id)
         DO UPDATE SET removed_at = NULL, removed_by = NULL
         RETURNING id",
    )
    .bind(finding_id)
    .bind(target_id)
    .bind(issue_id)
    .bind(pull_id)
    .bind(by)
    .fetch_one(&mut *db)
    .await?;
    let about = About { finding_id, target_id, ..About::by(by) };
    events::record(&mut *db, &Event::LinkAdded(LinkAdded { link: id, issue: issue_id, pull: pull_id }), about).await?;
    Ok(id)
}

/// A maintainer removes a link. It stays recorded as removed, so that no sync brings it
/// back. False when there was no such active link.
pub async fn remove_link(db: &mut PgConnection, link_id: i64, by: &str) -> sqlx::Result<bool> {
    let removed: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "UPDATE links SET removed_at = now(), removed_by = $2 WHERE id = $1 AND removed_at IS NULL
         RETURNING finding_id, target_id",
    )
    .bind(link_id)
    .bind(by)
    .fetch_optional(&mut *db)
    .await?;
    let Some((finding_id, target_id)) = removed else { return Ok(false) };
    let about = About { finding_id, target_id, ..About::by(by) };
    events::record(&mut *db, &Event::LinkRemoved(LinkRemoved { link: link_id }), about).await?;
    Ok(true)
}
