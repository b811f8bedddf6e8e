//! Advisory locks: work that must not run twice at once, across every server and worker
//! process that shares the database.

use sqlx::PgConnection;

/// Holds the lock on (`scope`, `key`) until the end of the current transaction, waiting for
/// it if another transaction has it.
pub async fn for_transaction(tx: &mut PgConnection, scope: &str, key: i64) -> sqlx::Result<()> {
    sqlx::query!(r#"SELECT pg_advisory_xact_lock(hashtextextended($1, $2)) AS "locked: ()""#, scope, key)
        .fetch_one(tx)
        .await?;
    Ok(())
}

/// Takes the lock `key` for as long as this connection lives, unless another session holds
/// it: false then.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key).fetch_one(conn).await
}

/// Releases the lock `key` taken with [`try_lock`] now. Closing the connection releases it
/// too, but only once the server has noticed the connection is gone: a run that starts right
/// after the previous one closed its connection could still find the lock held.
pub async fn release(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1) AS "unlocked!""#, key).fetch_one(conn).await
}
