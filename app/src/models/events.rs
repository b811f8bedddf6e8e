use sqlx::PgExecutor;

use crate::pages::overview::EventRow;

/// The latest `limit` events, newest first, with the name of the target they concern.
pub async fn recent(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.id, e.at AS "at: chrono::DateTime<chrono::Utc>", e.actor, e.kind, t.name AS "target?"
           FROM events e LEFT JOIN targets t ON t.id = e.target_id
           ORDER BY e.at DESC, e.id DESC
           LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// Appends one event to the audit log.
pub async fn record(
    db: impl PgExecutor<'_>,
    actor: Option<&str>,
    kind: &str,
    target_id: Option<i64>,
    data: serde_json::Value,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO events (actor, kind, target_id, data) VALUES ($1, $2, $3, $4) RETURNING id"#,
        actor,
        kind,
        target_id,
        data
    )
    .fetch_one(db)
    .await
}
