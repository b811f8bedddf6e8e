//! Unthread's data layer (see `docs/architecture.md`): the typed values the schema stores
//! ([`kinds`]), what the models hand the pages ([`views`], [`progress`]) and, with the
//! `postgres` feature, every query of every table ([`models`], one module per table family,
//! the audit log's typed events among them) and the writing of scans ([`ingest`]). Code
//! elsewhere does not write SQL.

pub mod kinds;
pub mod progress;
pub mod projection;
pub mod views;

#[cfg(feature = "postgres")]
pub mod connect;
#[cfg(feature = "postgres")]
pub mod embedded;
#[cfg(feature = "postgres")]
pub mod ingest;
#[cfg(feature = "postgres")]
pub mod models;

/// The schema, compiled in from `migrations/`.
#[cfg(feature = "postgres")]
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Brings a database's schema up to date: ours (`migrations/`), then the job queue's own
/// (schema `underway`, which keeps its record of applied migrations beside ours).
#[cfg(feature = "postgres")]
pub async fn migrate<'a, A>(conn: A) -> Result<(), sqlx::migrate::MigrateError>
where
    A: sqlx::Acquire<'a, Database = sqlx::Postgres>,
{
    use sqlx::Connection;
    let mut conn = conn.acquire().await?;
    MIGRATOR.run(&mut *conn).await?;
    underway::run_migrations(&mut *conn).await?;
    // DDL, not a query (no checked form); one process at a time replaces the trigger.
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('unthread.migrate.queue_notify'))").execute(&mut *tx).await?;
    sqlx::raw_sql(include_str!("queue_notify.sql")).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
