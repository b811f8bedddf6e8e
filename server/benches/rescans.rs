//! The rescan loop's figures, against a real throw-away PostgreSQL (prints them; no targets
//! are asserted here):
//!
//! 1. queue throughput: 4 workers on no-op jobs (target ≥ 500 jobs/s);
//! 2. webhook received → finding shown fixed, for a 1,000-file repository whose pushed commit
//!    removes a thread local (a fake GitHub serving `git archive` tarballs; target ≤ 5 s p50);
//! 3. the nightly sweep of the dependencies the demo snapshot pins (openedx-platform's
//!    `requirements/edx/base.txt`, 300 packages) with every archive already cached: the
//!    sweep job, 300 `scan_dependency` jobs, their downloads (checksum checks of the cached
//!    files), scans and ingests (target ≤ 15 s end to end). The first run downloads the
//!    distributions from PyPI into `~/.cache/unthread/bench/distributions` (skipped when
//!    offline); the index is then served locally from that cache.
//!
//! cargo bench -p unthread-server --bench rescans [-- queue|webhook|sweep]

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use db::{kinds::TargetKind, models::jobs as job_rows};
use sqlx::PgPool;
use unthread_server::{
    config::GitHubConfig,
    jobs::{
        queue::{JobSpec, Jobs, Priority},
        run::{JobContext, Limits},
    },
};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

#[allow(dead_code)]
#[path = "../tests/it/support/archives.rs"]
mod archives;
#[allow(dead_code)] // not every helper is needed here
#[path = "../tests/it/support/database.rs"]
mod database;
use database::fresh_database;

fn context(pool: &PgPool, github: &str, index: &str, cache: PathBuf) -> Arc<JobContext> {
    let config = GitHubConfig { api_url: github.to_owned(), ..Default::default() };
    Arc::new(JobContext::new(pool.clone(), config, index, cache, Limits::default()).unwrap())
}

/// Runs a worker with `workers` jobs at a time until nothing waits or runs.
async fn drain(jobs: &Jobs, context: Arc<JobContext>, workers: usize) -> Duration {
    let started = Instant::now();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handles = [{
        let (jobs, context, shutdown) = (jobs.clone(), context.clone(), shutdown.clone());
        tokio::spawn(async move { jobs.work(context, workers, shutdown).await })
    }];
    loop {
        let counts = job_rows::counts(jobs.pool()).await.unwrap();
        if !counts.iter().any(|c| c.state == "pending" || c.state == "in_progress") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    shutdown.cancel();
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
    took
}

async fn queue_throughput() {
    for run in 1..=3 {
        let pool = fresh_database().await;
        let jobs = Jobs::new(pool.clone());
        let n = 3_000;
        let started = Instant::now();
        let mut conn = pool.acquire().await.unwrap();
        for i in 0..n {
            jobs.enqueue(&mut conn, JobSpec::Noop { label: format!("{i}") }, Priority::Background, "bench")
                .await
                .unwrap();
        }
        drop(conn);
        let enqueued = started.elapsed();
        let workers = if run == 3 { 8 } else { 4 };
        let took = drain(
            &jobs,
            context(&pool, "http://127.0.0.1:9", "http://127.0.0.1:9/simple/", std::env::temp_dir()),
            workers,
        )
        .await;
        let done = job_rows::succeeded_per_key(&pool, "noop:").await.unwrap().len();
        assert_eq!(done, n);
        println!(
            "queue run {run}: {n} no-op jobs enqueued in {:.2} s ({:.0}/s), run {workers} at a time in {:.2} s: {:.0} jobs/s",
            enqueued.as_secs_f64(),
            n as f64 / enqueued.as_secs_f64(),
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
    }
}

async fn webhook_to_fixed() {
    use hmac::{Hmac, Mac};
    const SECRET: &str = "bench";
    let mut tree = Vec::new();
    for i in 0..1_000 {
        // Some 300 lines each, none alike (a tarball of realistic size): the platform has
        // ~6,000 such files.
        let mut text = format!("\"\"\"Module {i} of the benchmark tree.\"\"\"\nimport functools\nimport logging\n\nlog = logging.getLogger(__name__)\n\n");
        for f in 0..40 {
            let n = i * 131 + f * 7;
            text.push_str(&format!(
                "class Handler{i}x{f}:\n    limit = {n}\n\n    def handle_{f}(self, request, value={n}):\n        log.debug('handling %s in {i}.{f}', request)\n        return [v * {n} for v in range(value) if v % {m}]\n\n\n",
                m = 2 + f % 5
            ));
        }
        tree.push((format!("pkg_{}/module_{i}.py", i / 50), text));
    }
    let with_local = "import threading\n\n_state = threading.local()\n";
    let without = "import contextvars\n\n_state = contextvars.ContextVar('state')\n";
    // The tree, then a thread local added and removed in turn.
    let mut first: Vec<(&str, &str)> = tree.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
    first.push(("pkg_0/state.py", with_local));
    let toggles: Vec<[(&str, &str); 1]> =
        (1..12).map(|step| [("pkg_0/state.py", if step % 2 == 0 { with_local } else { without })]).collect();
    let steps: Vec<&[(&str, &str)]> = std::iter::once(first.as_slice()).chain(toggles.iter().map(|t| &t[..])).collect();
    let commits = archives::commits(&steps);
    let github = MockServer::start().await;
    for (sha, bytes) in &commits {
        let download = format!("/codeload/acme/big/legacy.tar.gz/{sha}");
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/big/tarball/{sha}")))
            .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}{download}", github.uri())))
            .mount(&github)
            .await;
        Mock::given(method("GET"))
            .and(path(download))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            .mount(&github)
            .await;
    }
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, TargetKind::Library, "acme/big").await.unwrap();
    let options = unthread_server::router::leptos_options("target/site", "pkg", "127.0.0.1:0".parse().unwrap());
    let settings = unthread_server::router::Settings { webhook_secret: Some(SECRET.into()), ..Default::default() };
    let app = unthread_server::router::build(pool.clone(), options, settings);
    let jobs = Jobs::new(pool.clone());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, shutdown) = (jobs.clone(), shutdown.clone());
        let context = context(&pool, &github.uri(), "http://127.0.0.1:9/simple/", std::env::temp_dir());
        async move { jobs.work(context, 2, shutdown).await }
    });
    let fixed = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM finding_progress WHERE target_id = $1 AND state = 'fixed'")
            .bind(target)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let mut latencies = Vec::new();
    for (step, (sha, _)) in commits.iter().enumerate() {
        let mut payload: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/fixtures/github/webhook.push.json"
            ))
            .unwrap(),
        )
        .unwrap();
        payload["ref"] = "refs/heads/main".into();
        payload["after"] = sha.as_str().into();
        payload["repository"]["full_name"] = "acme/big".into();
        payload["repository"]["default_branch"] = "main".into();
        let body = serde_json::to_vec(&payload).unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&body);
        let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let fixed_before = fixed(pool.clone()).await;
        let request = axum::http::Request::post("/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", format!("bench-{step}"))
            .header("x-hub-signature-256", format!("sha256={signature}"))
            .body(axum::body::Body::from(body))
            .unwrap();
        let started = Instant::now();
        let reply = tower::ServiceExt::oneshot(app.clone(), request).await.unwrap();
        assert!(reply.status().is_success());
        // Until the scan of this commit is recorded (and, on odd steps, the finding fixed).
        loop {
            let scanned: Option<String> =
                sqlx::query_scalar("SELECT revision FROM scans WHERE target_id = $1 ORDER BY id DESC LIMIT 1")
                    .bind(target)
                    .fetch_optional(&pool)
                    .await
                    .unwrap()
                    .flatten();
            if scanned.as_deref() == Some(sha.as_str()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let took = started.elapsed();
        if step % 2 == 1 {
            assert!(fixed(pool.clone()).await > fixed_before, "step {step} fixed the thread local");
            latencies.push(took);
        }
    }
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    latencies.sort();
    let ms: Vec<u128> = latencies.iter().map(|d| d.as_millis()).collect();
    println!(
        "webhook → finding fixed, 1,001-file repository ({} KB tarball): p50 {} ms, max {} ms over {} pushes {ms:?}",
        commits[0].1.len() / 1024,
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        ms.len()
    );
}

/// The demo snapshot's pins: `(name, version)`.
fn snapshot_pins() -> Vec<(String, String)> {
    let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/snapshot.json.gz")).unwrap();
    let snapshot: serde_json::Value = serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap();
    let text = snapshot["requirements"].as_str().expect("the snapshot's requirements file");
    let requirements: unthread_server::pypi::Requirements = text.parse().unwrap();
    requirements
        .pins
        .iter()
        .filter(|p| p.scannable_by_version())
        .map(|p| (p.name.clone(), p.version.clone().unwrap()))
        .collect()
}

async fn sweep_of_dependencies() {
    let cache = dirs_cache().join("distributions");
    std::fs::create_dir_all(&cache).unwrap();
    let pins = snapshot_pins();
    // Fill the cache from PyPI once (what is there already is only checked).
    let pypi = unthread_server::pypi::PackageIndex::new(unthread_server::pypi::PYPI_SIMPLE, &cache).unwrap();
    let mut files: Vec<(String, String, PathBuf)> = Vec::new();
    for (name, version) in &pins {
        match pypi.fetch(name, version, &[]).await {
            Ok(path) => files.push((name.clone(), version.clone(), path)),
            Err(e) => eprintln!("  not cached: {name} {version}: {e}"),
        }
    }
    if files.len() < pins.len() / 2 {
        println!("sweep: only {} of {} distributions could be had (offline?): skipped", files.len(), pins.len());
        return;
    }
    // A local index over the cached files: the sweep's downloads are cache hits.
    let index = MockServer::start().await;
    for (name, _, file) in &files {
        use sha2::Digest;
        let bytes = std::fs::read(file).unwrap();
        let sha: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let filename = file.file_name().unwrap().to_string_lossy().into_owned();
        let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": name,
            "files": [{"filename": filename, "url": format!("../../files/{filename}"), "hashes": {"sha256": sha}}]});
        Mock::given(method("GET"))
            .and(path(format!("/simple/{name}/")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"),
            )
            .mount(&index)
            .await;
    }
    for run in 1..=2 {
        let pool = fresh_database().await;
        // The platform and its pins, as `scan --requirements` registers them, and a target per
        // pinned package, never scanned (so the sweep finds all of them due).
        let platform =
            db::models::targets::upsert(&pool, TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
        let text: String = files
            .iter()
            .map(|(name, version, _)| format!("{name}=={version}\n    # via -r requirements/edx/kernel.in\n"))
            .collect();
        let requirements: unthread_server::pypi::Requirements = text.parse().unwrap();
        unthread_server::ingest::requirements::import(
            &mut pool.acquire().await.unwrap(),
            platform,
            "requirements/edx/base.txt",
            &requirements,
        )
        .await
        .unwrap();
        // The platform itself was scanned an hour ago: not due (the sweep of its dependencies
        // is what is measured).
        let recent = unthread_server::ingest::scan::ScanInput {
            coverage: Default::default(),
            target_id: platform,
            revision: Some("0".repeat(40)),
            tool: "unthread-scan".into(),
            tool_version: None,
            complete: true,
            files_scanned: 0,
            unread_files: vec![],
            findings: vec![],
            api_index: None,
            imports: None,
            finished_at: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
            cause: None,
            scope: None,
            file_hashes: Default::default(),
            calls_out: None,
        };
        unthread_server::ingest::scan::ingest(&pool, &recent).await.unwrap();
        for (name, _, _) in &files {
            let id = db::models::targets::upsert(&pool, TargetKind::Dependency, name).await.unwrap();
            unthread_server::ingest::requirements::link_dependency_target(&mut pool.acquire().await.unwrap(), id, name)
                .await
                .unwrap();
        }
        let jobs = Jobs::new(pool.clone());
        let started = Instant::now();
        let sweep = JobSpec::Sweep { period: run, interval: 24 * 3600 };
        jobs.enqueue(&mut pool.acquire().await.unwrap(), sweep, Priority::Sweep, "bench").await.unwrap();
        let took =
            drain(&jobs, context(&pool, "http://127.0.0.1:9", &format!("{}/simple/", index.uri()), dirs_cache()), 2)
                .await;
        let total = started.elapsed();
        let counts = job_rows::counts(&pool).await.unwrap();
        let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await.unwrap();
        let findings: i64 = sqlx::query_scalar("SELECT count(*) FROM findings").fetch_one(&pool).await.unwrap();
        println!(
            "sweep run {run}: {} dependencies (of {} pins), every archive cached: {:.1} s end to end (queue drained in {:.1} s); {scans} scans, {findings} findings; jobs {counts:?}",
            files.len(),
            pins.len(),
            total.as_secs_f64(),
            took.as_secs_f64()
        );
    }
}

fn dirs_cache() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache/unthread/bench")
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if wanted("queue") {
            queue_throughput().await;
        }
        if wanted("webhook") {
            webhook_to_fixed().await;
        }
        if wanted("sweep") {
            sweep_of_dependencies().await;
        }
    });
}
