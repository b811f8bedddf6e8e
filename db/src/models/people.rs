//! One person's page: what they own, what they claimed, what got fixed under their name.

use sqlx::PgPool;

use crate::views::{HistoryEntry, Person};

pub async fn person(pool: &PgPool, login: &str) -> sqlx::Result<Option<Person>> {
    let Some(user) = super::users::by_login(pool, login).await? else { return Ok(None) };
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
    // Fixed while they owned it: the fixing scan finished during one of their claims.
    let fixed_ids: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT DISTINCT f.id FROM claims c
           JOIN findings f ON f.id = c.finding_id OR f.target_id = c.target_id
           JOIN scans s ON s.id = f.fixed_in_scan
           WHERE c.owner_id = $1 AND f.rule <> 'UT100'
             AND s.finished_at >= c.claimed_at AND (c.released_at IS NULL OR s.finished_at <= c.released_at)
           ORDER BY f.id DESC LIMIT 200"#,
        user.id
    )
    .fetch_all(pool)
    .await?;
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
    Ok(Some(Person { login: user.login, name: user.name, role: user.role, targets, owned, fixed, activity }))
}
