//! Where the database is: an existing server (`DATABASE_URL`) or the embedded cluster.

use std::{path::Path, str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, Executor, PgConnection, PgPool,
};

use crate::embedded::{Durability, EmbeddedPostgres};

/// An open pool, and the embedded cluster behind it when there is one. Call
/// [`Database::close`] to shut both down in order.
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `database_url`, or else starts the embedded cluster in `data_dir`.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let (options, embedded) = match database_url {
            Some(url) => (PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?, None),
            None => {
                let dir = data_dir.to_owned();
                let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, Durability::Durable))
                    .await?
                    .context("starting the embedded PostgreSQL")?;
                tracing::info!(pgdata = %cluster.data_directory().display(), "embedded PostgreSQL is up");
                let options = cluster.connect_options();
                create_database_if_missing(&options).await?;
                (options, Some(cluster))
            }
        };
        let pool = pool_options().connect_with(options).await.context("connecting to PostgreSQL")?;
        Ok(Self { pool, embedded })
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        crate::migrate(&self.pool).await.context("running database migrations")
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(mut cluster) = self.embedded.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// A new cluster only has the `postgres` maintenance database; create ours next to it.
async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    let name = options.get_database().unwrap_or(crate::embedded::DATABASE).to_owned();
    let mut conn = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .context("connecting to the embedded PostgreSQL")?;
    let exists =
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#, name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Identifiers cannot be bound as parameters; the name is our own constant, quoted anyway.
        conn.execute(format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")).as_str()).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Pool settings shared by the server and the commands. Requests must fail fast, not hang,
/// while PostgreSQL is unreachable; the pool reconnects on its own once it is back.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(3)).test_before_acquire(true)
}

/// The longest a statement run for a web request may take: the router answers 503 after 30 s
/// anyway, and a statement left running after its request is gone would hold a connection
/// and a core for nothing (a search abandoned at 30 s kept running two minutes).
pub const REQUEST_STATEMENT_TIMEOUT: &str = "20s";

/// Memory a request's statement may use per sort or hash before spilling to disk. The
/// explorer's counts group the matching findings by what the facets depend on: with the
/// server's default (4 MB) PostgreSQL plans a sort that spills for a text matching most of
/// 100,000 findings (140 ms); with this it hashes them in memory (80 ms). Bounded: a hash
/// table uses what its rows need, spilling past twice this.
pub const REQUEST_WORK_MEM: &str = "16MB";

/// A pool for web requests beside `pool` (same database and settings), whose statements
/// are cancelled by PostgreSQL after [`REQUEST_STATEMENT_TIMEOUT`]. Jobs keep `pool`: a
/// scan's ingestion may rightly take longer.
pub fn request_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("statement_timeout", REQUEST_STATEMENT_TIMEOUT), ("work_mem", REQUEST_WORK_MEM)]);
    pool_options().connect_lazy_with(options)
}

/// Whether PostgreSQL answers (`/healthz`).
pub async fn ping(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query!(r#"SELECT 1 AS "one!""#).fetch_one(pool).await?;
    Ok(())
}
