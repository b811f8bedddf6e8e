//! The embedded PostgreSQL: first start, reuse of the data directory, and recovery from runs
//! that were killed.

use std::{os::unix::fs::PermissionsExt, path::Path, time::Duration};

use db::embedded::{Durability, EmbeddedPostgres};
use sqlx::{Connection, Executor, PgConnection};

/// A data directory the `postgres` system user can reach when the tests run as root.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

async fn connect(cluster: &EmbeddedPostgres) -> PgConnection {
    PgConnection::connect_with(&cluster.connect_options().database("postgres")).await.unwrap()
}

fn postmaster_pid(pgdata: &Path) -> i32 {
    let contents = std::fs::read_to_string(pgdata.join("postmaster.pid")).unwrap();
    contents.lines().next().unwrap().trim().parse().unwrap()
}

fn wait_until_gone(pid: i32) {
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("process {pid} did not exit");
}

#[tokio::test]
async fn second_start_reuses_the_data_directory() {
    let dir = data_dir();
    let mut cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let mut conn = connect(&cluster).await;
    conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)").await.unwrap();
    conn.close().await.unwrap();
    cluster.stop().unwrap();
    assert!(!cluster.data_directory().join("postmaster.pid").exists(), "stop must shut the server down");

    let cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let mut conn = connect(&cluster).await;
    let v: i32 = sqlx::query_scalar("SELECT v FROM kept").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 42);
}

#[tokio::test]
async fn stale_postmaster_pid_from_a_killed_server_is_recovered() {
    let dir = data_dir();
    let cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let pgdata = cluster.data_directory().to_owned();
    let pid = postmaster_pid(&pgdata);
    // Simulate a crash: the postmaster dies without cleaning up, and we lose our handle.
    std::mem::forget(cluster);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    wait_until_gone(pid);
    assert!(pgdata.join("postmaster.pid").exists(), "a killed postmaster leaves its pid file");

    // Its backends notice the postmaster's death and exit shortly; start must cope meanwhile.
    let cluster = start_with_retry(dir.path());
    let mut conn = connect(&cluster).await;
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn pid_file_naming_an_unrelated_live_process_is_ignored() {
    let dir = data_dir();
    let mut cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let pgdata = cluster.data_directory().to_owned();
    let pid_file_contents = std::fs::read_to_string(pgdata.join("postmaster.pid")).unwrap();
    cluster.stop().unwrap();
    // After a reboot the old pid may belong to another program: here, this test process.
    let mut lines: Vec<String> = pid_file_contents.lines().map(str::to_owned).collect();
    lines[0] = std::process::id().to_string();
    std::fs::write(pgdata.join("postmaster.pid"), lines.join("\n") + "\n").unwrap();

    let cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let mut conn = connect(&cluster).await;
    sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn server_left_running_by_a_killed_unthread_is_restarted() {
    let dir = data_dir();
    let cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    let old_pid = postmaster_pid(cluster.data_directory());
    // Unthread dies (no Drop runs) but PostgreSQL keeps running.
    std::mem::forget(cluster);

    let cluster = EmbeddedPostgres::start(dir.path(), Durability::Throwaway).unwrap();
    assert_ne!(postmaster_pid(cluster.data_directory()), old_pid, "the orphaned server is replaced");
    let mut conn = connect(&cluster).await;
    sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
}

fn start_with_retry(dir: &Path) -> EmbeddedPostgres {
    let mut last_error = None;
    for _ in 0..20 {
        match EmbeddedPostgres::start(dir, Durability::Throwaway) {
            Ok(cluster) => return cluster,
            Err(err) => {
                last_error = Some(err);
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }
    panic!("cluster did not recover: {}", last_error.unwrap());
}
