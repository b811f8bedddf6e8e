//! One throw-away PostgreSQL cluster per test process, and a fresh database per
//! test, cloned from a migrated template so that each costs milliseconds.
//!
//! The cluster lives in `$TMPDIR/unthread-test-pg/<pid>` and is stopped and removed when the
//! test process exits. Clusters of test processes that were killed are swept away by the next
//! test process that starts one.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, OnceLock,
    },
};

use sqlx::{postgres::PgConnectOptions, ConnectOptions, Connection, Executor, PgConnection, PgPool};

use db::embedded::{self, Durability, EmbeddedPostgres};

const TEMPLATE: &str = "unthread_template";

static CLUSTER: OnceLock<Mutex<Option<EmbeddedPostgres>>> = OnceLock::new();
static CONNECT: OnceLock<PgConnectOptions> = OnceLock::new();
static TEMPLATE_READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

fn clusters_root() -> PathBuf {
    std::env::temp_dir().join("unthread-test-pg")
}

/// Connection options for the `postgres` maintenance database of this process's cluster,
/// starting the cluster on first use.
pub fn cluster_options() -> PgConnectOptions {
    CONNECT
        .get_or_init(|| {
            sweep_abandoned_clusters();
            let dir = clusters_root().join(std::process::id().to_string());
            let cluster = EmbeddedPostgres::start(&dir, Durability::Throwaway)
                .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL cluster: {e}"));
            let options = cluster.connect_options();
            CLUSTER.get_or_init(|| Mutex::new(Some(cluster)));
            // SAFETY: `stop_cluster_at_exit` is an `extern "C" fn()` that never unwinds.
            unsafe { nix::libc::atexit(stop_cluster_at_exit) };
            options
        })
        .clone()
}

extern "C" fn stop_cluster_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let Some(lock) = CLUSTER.get() else { return };
        let Ok(mut guard) = lock.lock() else { return };
        if let Some(mut cluster) = guard.take() {
            let _ = cluster.stop_immediately();
            let dir = clusters_root().join(std::process::id().to_string());
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}

/// Removes the clusters of test processes that no longer exist.
fn sweep_abandoned_clusters() {
    let Ok(entries) = std::fs::read_dir(clusters_root()) else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = embedded::stop_abandoned(&entry.path().join("postgres/data"));
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// A new, migrated, empty database for one test, and a pool connected to it.
pub async fn fresh_database() -> PgPool {
    let options = cluster_options();
    TEMPLATE_READY
        .get_or_init(|| async {
            let mut conn = PgConnection::connect_with(&options.clone().database("postgres"))
                .await
                .expect("connect to the test cluster");
            conn.execute(format!("DROP DATABASE IF EXISTS {TEMPLATE}").as_str()).await.unwrap();
            conn.execute(format!("CREATE DATABASE {TEMPLATE}").as_str()).await.unwrap();
            conn.close().await.unwrap();
            let mut template = PgConnection::connect_with(&options.clone().database(TEMPLATE))
                .await
                .expect("connect to the template database");
            db::migrate(&mut template).await.expect("migrate the template database");
            template.close().await.unwrap();
        })
        .await;
    let name = format!("test_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let mut conn =
        PgConnection::connect_with(&options.clone().database("postgres")).await.expect("connect to the test cluster");
    conn.execute(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}").as_str())
        .await
        .expect("clone the template database");
    conn.close().await.unwrap();
    let options = options.database(&name).disable_statement_logging();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("connect to the test database")
}

/// A new database with no schema at all (for tests of the migrations themselves).
pub async fn empty_database() -> PgPool {
    let options = cluster_options();
    let name = format!("empty_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let mut conn =
        PgConnection::connect_with(&options.clone().database("postgres")).await.expect("connect to the test cluster");
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create a database");
    conn.close().await.unwrap();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.database(&name).disable_statement_logging())
        .await
        .expect("connect to the new database")
}

/// A `DATABASE_URL` for `pool`'s database, for running the `unthread` binary against it.
pub fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let socket_dir =
        options.get_socket().map(|p| p.display().to_string()).unwrap_or_else(|| options.get_host().to_owned());
    format!(
        "postgres://{}@localhost:{}/{}?host={socket_dir}",
        options.get_username(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}
