//! Faults the server must live through: PostgreSQL stopping and coming back while requests
//! arrive (clean 503s during the outage, service again afterwards without a restart), and a
//! scan killed half-way (nothing marked fixed, the next run completes).
//!
//! Each test runs its own PostgreSQL cluster: stopping the shared test cluster would break
//! the other tests of this process.

use crate::support::{send, TestApp};
use std::time::{Duration, Instant};

use axum::{body::Body, http::Request, Router};
use db::{
    connect::pool_options,
    embedded::{Durability, EmbeddedPostgres},
};
use tower::ServiceExt;

async fn status(router: &Router, uri: &str) -> (u16, String) {
    let response = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Starts (or restarts) a cluster in `dir` on a blocking thread.
async fn start_postgres(dir: &std::path::Path) -> EmbeddedPostgres {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, Durability::Throwaway)).await.unwrap().unwrap()
}

#[tokio::test]
async fn requests_fail_cleanly_while_postgres_is_down_and_recover_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut postgres = start_postgres(dir.path()).await;
    let options = postgres.connect_options().database("postgres");
    let pool = pool_options().connect_with(options).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let router = TestApp::new(&pool).build();
    // Uncached reads: each one asks PostgreSQL.
    let reads = ["/healthz", "/reports/weekly/2026-W47.json", "/reports/weekly?week=2026-W01"];
    for uri in reads {
        assert_eq!(status(&router, uri).await.0, 200, "{uri} before the outage");
    }

    tokio::task::spawn_blocking(move || {
        postgres.stop_immediately().unwrap();
    })
    .await
    .unwrap();
    for (uri, week) in reads.iter().zip(["", "2026-W46", "2026-W02"]) {
        // A week not asked before, so no cached copy can answer.
        let uri = uri.replace("2026-W47", week).replace("2026-W01", week);
        let uri = if week.is_empty() { "/healthz".to_owned() } else { uri };
        let started = Instant::now();
        let (code, body) = status(&router, &uri).await;
        let took = started.elapsed();
        assert_eq!(code, 503, "{uri} during the outage: {body}");
        assert!(body.contains("unavailable"), "{uri}: a clear message, not a stack trace: {body}");
        assert!(took < Duration::from_secs(5), "{uri} failed fast ({took:?})");
    }
    // The same failure in the same words, with the id of the request to quote, whoever
    // answers: a report download (text), an API call (JSON) and a server function.
    let requests = [
        Request::get("/reports/weekly/2026-W40.csv").body(Body::empty()).unwrap(),
        Request::post("/api/v1/scans?target=x").header("authorization", "Bearer unt_00").body(Body::empty()).unwrap(),
        Request::post("/api/overview").header("accept", "application/json").body(Body::empty()).unwrap(),
    ];
    for request in requests {
        let uri = request.uri().to_string();
        let reply = send(&router, request).await;
        let id = reply.header("x-request-id").expect("every answer has a request id").to_owned();
        assert_eq!(reply.status, 503, "{uri}: {}", reply.body);
        assert!(reply.body.contains("the database is unavailable, try again shortly"), "{uri}: {}", reply.body);
        assert!(reply.body.contains(&id), "{uri} quotes its request id {id}: {}", reply.body);
    }
    let api = send(
        &router,
        Request::post("/api/v1/scans?target=x").header("authorization", "Bearer unt_00").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(api.json()["request_id"].as_str(), api.header("x-request-id"), "API errors are JSON: {}", api.body);

    let restarted = Instant::now();
    let _postgres = start_postgres(dir.path()).await;
    loop {
        if status(&router, "/healthz").await.0 == 200 {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(30), "service came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("recovered {:?} after PostgreSQL was started again", restarted.elapsed());
    for uri in ["/reports/weekly/2026-W45.json", "/reports/weekly?week=2026-W03"] {
        assert_eq!(status(&router, uri).await.0, 200, "{uri} after the outage");
    }
}

/// Python files enough for a scan to take a while, each with a finding.
fn write_tree(root: &std::path::Path, files: usize) {
    for i in 0..files {
        let dir = root.join(format!("pkg_{}", i / 100));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("import threading\n\n_state = threading.local()\n\n");
        for f in 0..200 {
            text.push_str(&format!(
                "def function_{f}(value):\n    return [v * {f} for v in range(value) if v % 3]\n\n"
            ));
        }
        std::fs::write(dir.join(format!("module_{i}.py")), text).unwrap();
    }
}

#[tokio::test]
async fn a_scan_killed_half_way_fixes_nothing_and_the_next_run_completes() {
    let pool = crate::support::fresh_database().await;
    let url = crate::support::database_url(&pool);
    let tree = tempfile::tempdir().unwrap();
    write_tree(tree.path(), 600);
    let scan = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_unthread"));
        command
            .args(["--database-url", &url, "scan"])
            .arg(tree.path())
            .args(["--target", "openedx/big-repo", "--revision", "abc"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    assert!(scan().status().unwrap().success());
    let open = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM findings WHERE fixed_in_scan IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = open().await;
    assert_eq!(before, 600);

    // Kill runs at several points of their work; whatever was done, nothing may be fixed.
    for delay in [50, 150, 300, 600] {
        let mut child = scan().spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(open().await, before, "killed after {delay} ms: no finding marked fixed");
        let fixed: i64 = sqlx::query_scalar("SELECT count(*) FROM findings WHERE fixed_in_scan IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(fixed, 0);
    }
    assert!(scan().status().unwrap().success(), "a rerun completes");
    assert_eq!(open().await, before);
    // Killed runs left no scan half-recorded: each scan is recorded in one transaction.
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM scans ORDER BY id").fetch_all(&pool).await.unwrap();
    assert!(statuses.iter().all(|s| s == "complete"), "{statuses:?}");
}
