use sqlx::PgExecutor;

use crate::pages::overview::TargetRow;

/// Every target, repositories before dependencies, alphabetical within each kind.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<TargetRow>> {
    sqlx::query_as!(
        TargetRow,
        r#"SELECT id, kind, name FROM targets
           ORDER BY kind = 'dependency', lower(name), name"#
    )
    .fetch_all(db)
    .await
}

/// Registers a target if it is new and returns its id either way.
pub async fn upsert(db: impl PgExecutor<'_>, kind: &str, name: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO targets (kind, name) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET kind = targets.kind
           RETURNING id"#,
        kind,
        name
    )
    .fetch_one(db)
    .await
}
