//! One person's page: what they own, what they claimed, what got fixed under their name.

use sqlx::PgPool;

use crate::views::{GitHubLink, HistoryEntry, Person};

/// `login`'s page: a local account, or a GitHub person (the author of a merged pull request
/// that fixed findings, or the assignee of a synced item) with no account here.
pub async fn person(pool: &PgPool, login: &str) -> sqlx::Result<Option<Person>> {
    let user = super::users::by_login(pool, login).await?;
    let github = github_items(pool, login).await?;
    let github_fixed: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT finding_id AS "id!" FROM github_fixes WHERE lower(login) = lower($1) ORDER BY finding_id DESC LIMIT 200"#,
        login
    )
    .fetch_all(pool)
    .await?;
    let Some(user) = user else {
        if github.is_empty() && github_fixed.is_empty() {
            return Ok(None);
        }
        // The login as GitHub spells it.
        let spelled = sqlx::query_scalar!(
            r#"SELECT login AS "login!" FROM (SELECT author AS login FROM gh_pulls UNION ALL
                                               SELECT unnest(assignees) FROM gh_issues) a
               WHERE lower(login) = lower($1) LIMIT 1"#,
            login
        )
        .fetch_optional(pool)
        .await?
        .unwrap_or_else(|| login.to_owned());
        return Ok(Some(Person {
            login: spelled,
            name: None,
            role: None,
            github,
            targets: Vec::new(),
            owned: Vec::new(),
            fixed: super::findings::by_ids(pool, &github_fixed).await?,
            activity: Vec::new(),
        }));
    };
    let targets = sqlx::query!(
        r#"SELECT t.name, t.kind AS "kind: crate::kinds::TargetKind" FROM claims c JOIN targets t ON t.id = c.target_id
           WHERE c.owner_id = $1 AND c.released_at IS NULL ORDER BY t.name"#,
        user.id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.name, r.kind))
    .collect();
    let owned = super::findings::owned_by(pool, &user.login).await?;
    // Fixed while they owned it (the fixing scan finished during one of their claims), or by
    // a merged pull request of theirs.
    let mut fixed_ids: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT DISTINCT f.id FROM claims c
           JOIN findings f ON f.id = c.finding_id OR f.target_id = c.target_id
           JOIN scans s ON s.id = f.fixed_in_scan
           WHERE c.owner_id = $1 AND f.rule <> 'UT100' AND NOT f.in_tests
             AND s.finished_at >= c.claimed_at AND (c.released_at IS NULL OR s.finished_at <= c.released_at)
           ORDER BY f.id DESC LIMIT 200"#,
        user.id
    )
    .fetch_all(pool)
    .await?;
    fixed_ids.extend(github_fixed);
    fixed_ids.sort_unstable_by(|a, b| b.cmp(a));
    fixed_ids.dedup();
    let fixed = super::findings::by_ids(pool, &fixed_ids).await?;
    let activity = sqlx::query!(
        r#"SELECT e.at AS "at: chrono::DateTime<chrono::Utc>", e.kind, e.data, e.finding_id, t.name AS "target?"
           FROM events e LEFT JOIN targets t ON t.id = e.target_id
           WHERE e.actor = $1 ORDER BY e.at DESC, e.id DESC LIMIT 30"#,
        user.login
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| HistoryEntry {
        at: r.at,
        actor: None,
        summary: match (r.finding_id, r.target) {
            (Some(id), _) => format!("{} on finding {id}", r.kind),
            (None, Some(target)) => format!("{} on {target}", r.kind),
            _ => r.kind.clone(),
        },
        kind: r.kind,
    })
    .collect();
    Ok(Some(Person {
        login: user.login,
        name: user.name,
        role: Some(user.role),
        github,
        targets,
        owned,
        fixed,
        activity,
    }))
}

/// Merged pull requests `login` authored that are linked to findings, and synced issues
/// assigned to them, newest first.
async fn github_items(pool: &PgPool, login: &str) -> sqlx::Result<Vec<GitHubLink>> {
    let rows = sqlx::query!(
        r#"SELECT 'pull' AS "kind!", p.repository, p.number, p.title, 'merged' AS "state!", p.html_url, p.assignees,
                  p.merged_at AS at
           FROM gh_pulls p
           WHERE p.merged AND lower(p.author) = lower($1)
             AND EXISTS (SELECT 1 FROM links l WHERE l.pull_id = p.id AND l.removed_at IS NULL)
           UNION ALL
           SELECT 'issue', i.repository, i.number, i.title, i.state, i.html_url, i.assignees, i.updated_at
           FROM gh_issues i
           WHERE EXISTS (SELECT 1 FROM unnest(i.assignees) a WHERE lower(a) = lower($1))
           ORDER BY at DESC NULLS LAST"#,
        login
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let how = if r.kind == "pull" { "author" } else { "assignee" }.to_owned();
            Some(GitHubLink {
                kind: r.kind,
                repository: r.repository?,
                number: r.number?,
                title: r.title?,
                state: r.state,
                url: r.html_url?,
                assignees: r.assignees.unwrap_or_default(),
                how,
                scope: crate::views::LinkScope::Finding,
                link_id: 0,
                kept: false,
            })
        })
        .collect())
}
