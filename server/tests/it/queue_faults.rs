//! The job queue under faults, with real `unthread` processes: several workers share 300
//! jobs and run each exactly once; a worker SIGKILLed in the middle of a scan leaves the job
//! to another worker once its lease runs out, and the scan is recorded once; jobs queued
//! while no server runs are run when `serve` starts.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use db::{kinds::TargetKind, models::jobs as job_rows};
use sqlx::PgPool;
use unthread_server::jobs::queue::{JobSpec, Jobs, Priority, LEASE};
use wiremock::MockServer;

use crate::rescans::{serve_tarball_after, two_commits, REPOSITORY};
use crate::support::{database_url, fresh_database};

/// A process of the test's, killed when dropped (a failing assertion leaves none behind).
struct Process(Option<Child>);

impl Process {
    fn kill(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.0 = None;
    }

    fn id(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn worker(url: &str, github: &str, concurrency: usize) -> Process {
    Process(Some(
        Command::new(env!("CARGO_BIN_EXE_unthread"))
            .args(["--database-url", url, "worker", "--concurrency", &concurrency.to_string()])
            .args(["--github-api-url", github])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a worker"),
    ))
}

/// SIGTERM, as a service manager stops it, and wait.
fn stop(mut process: Process) {
    if let (Some(id), Some(child)) = (process.id(), process.0.as_mut()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(id as i32), nix::sys::signal::Signal::SIGTERM);
        let _ = child.wait();
    }
    process.0 = None;
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(pool: &PgPool, state: &str) -> i64 {
    job_rows::counts(pool).await.unwrap().iter().filter(|c| c.state == state).map(|c| c.count).sum()
}

/// Attempts of each job whose key starts with `prefix`.
async fn attempts_per_job(pool: &PgPool, prefix: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT count(a.*) FROM underway.task t LEFT JOIN underway.task_attempt a
           ON a.task_queue_name = t.task_queue_name AND a.task_id = t.id
         WHERE starts_with(t.concurrency_key, $1)
         GROUP BY t.id ORDER BY 1",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn three_worker_processes_run_300_jobs_each_exactly_once() {
    let pool = fresh_database().await;
    let url = database_url(&pool);
    let jobs = Jobs::new(pool.clone());
    let mut conn = pool.acquire().await.unwrap();
    for i in 0..300 {
        let spec = JobSpec::Noop { label: format!("job-{i:03}") };
        jobs.enqueue(&mut conn, spec, Priority::Background, "test").await.unwrap();
    }
    drop(conn);
    let workers: Vec<Process> = (0..3).map(|_| worker(&url, "http://127.0.0.1:9", 4)).collect();
    wait_until("300 jobs done", Duration::from_secs(120), async || count(&pool, "succeeded").await == 300).await;
    for child in workers {
        stop(child);
    }
    let per_key = job_rows::succeeded_per_key(&pool, "noop:").await.unwrap();
    assert_eq!(per_key.len(), 300, "every job ran");
    assert!(per_key.iter().all(|(_, n)| *n == 1), "no job ran twice");
    assert!(attempts_per_job(&pool, "noop:").await.iter().all(|n| *n == 1), "each job was attempted once");
}

#[tokio::test]
async fn a_worker_killed_mid_scan_leaves_the_job_to_another_and_the_scan_is_recorded_once() {
    let pool = fresh_database().await;
    let url = database_url(&pool);
    let commits = two_commits();
    let github = MockServer::start().await;
    // Slow enough to kill the first worker while it downloads.
    serve_tarball_after(&github, &commits.first, commits.first_tarball.clone(), Duration::from_secs(2)).await;
    let target = db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    let jobs = Jobs::new(pool.clone());
    let spec = JobSpec::ScanRepository { target: REPOSITORY.into(), commit: commits.first.clone() };
    jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, Priority::Push, "test").await.unwrap();

    let mut first = worker(&url, &github.uri(), 1);
    wait_until("the job to start", Duration::from_secs(30), async || count(&pool, "in_progress").await == 1).await;
    first.kill();
    let second = worker(&url, &github.uri(), 1);
    // (The scan queues a reachability job of its own: the scan's is the one waited for.)
    wait_until("the job to be taken over and done", LEASE * 4, async || {
        job_rows::succeeded_per_key(&pool, "scan_repository:").await.unwrap().len() == 1
    })
    .await;
    stop(second);

    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans WHERE target_id = $1")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(scans, 1, "the scan is recorded once");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE target_id = $1 AND kind = 'scan.ingested'")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 1, "one event");
    assert_eq!(attempts_per_job(&pool, "scan_repository:").await, [2], "the killed attempt and the one that completed");
}

#[tokio::test]
async fn jobs_queued_while_no_server_runs_are_run_when_serve_starts() {
    let pool = fresh_database().await;
    let url = database_url(&pool);
    let jobs = Jobs::new(pool.clone());
    let mut conn = pool.acquire().await.unwrap();
    for i in 0..20 {
        jobs.enqueue(&mut conn, JobSpec::Noop { label: format!("queued-{i}") }, Priority::Background, "test")
            .await
            .unwrap();
    }
    drop(conn);
    let serve = Process(Some(
        Command::new(env!("CARGO_BIN_EXE_unthread"))
            .args([
                "--database-url",
                &url,
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--rescan-interval",
                "0",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    wait_until("the queued jobs to run", Duration::from_secs(60), async || count(&pool, "succeeded").await == 20).await;
    stop(serve);
}
