//! Rescans on the job queue: a signed `push` webhook queues a scan of the pushed commit; a
//! worker fetches GitHub's tarball of it (wiremock, serving archives `git archive` made of
//! two real commits of a small Python tree) and records the scan, so the finding the second
//! commit removed is fixed. Redeliveries and repeated requests fold into one job and one
//! scan; corrupt, non-gzip, oversized archives and GitHub's 404 fail the job with a readable
//! reason and change nothing.

use std::{sync::Arc, time::Duration};

use db::{kinds::TargetKind, models::jobs as job_rows};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use sqlx::PgPool;
use unthread_server::{
    config::GitHubConfig,
    jobs::{
        queue::{Enqueued, JobSpec, Jobs, Priority},
        run::{JobContext, Limits},
    },
};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::support::{
    archives::{commits, wheel},
    fresh_database,
    github::fixture,
    send, TestApp,
};

const SECRET: &str = "webhook secret for rescans";
pub(crate) const REPOSITORY: &str = "acme/demo";

/// A git repository with two commits: the first has a thread local in `demo/state.py`, the
/// second replaces it with a context variable. Returns the two commits' tarballs as GitHub
/// serves them (`git archive`: one top directory, the commit in the global header).
pub(crate) struct TwoCommits {
    pub first: String,
    pub second: String,
    pub first_tarball: Vec<u8>,
    pub second_tarball: Vec<u8>,
}

pub(crate) fn two_commits() -> TwoCommits {
    let thread_local = "import threading\n\n_local = threading.local()\n\n\ndef current_user():\n    return getattr(_local, 'user', None)\n";
    let context_var = "import contextvars\n\n_user = contextvars.ContextVar('user', default=None)\n\n\ndef current_user():\n    return _user.get()\n";
    let mut made = commits(&[
        &[
            ("demo/__init__.py", ""),
            ("demo/state.py", thread_local),
            ("demo/views.py", "def index(request):\n    return 'ok'\n"),
            (
                "catalog-info.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nspec:\n  owner: group:acme-core\n",
            ),
        ],
        // The catalog broken in the same push: the team read before is kept.
        &[("demo/state.py", context_var), ("catalog-info.yaml", "spec: [owner: broken\n")],
    ])
    .into_iter();
    let (first, first_tarball) = made.next().unwrap();
    let (second, second_tarball) = made.next().unwrap();
    TwoCommits { first, second, first_tarball, second_tarball }
}

/// GitHub's tarball endpoint: a 302 to the download host, which serves the archive.
pub(crate) async fn serve_tarball(github: &MockServer, commit: &str, body: Vec<u8>) {
    serve_tarball_after(github, commit, body, Duration::ZERO).await
}

/// [`serve_tarball`], the download answering after `delay`.
pub(crate) async fn serve_tarball_after(github: &MockServer, commit: &str, body: Vec<u8>, delay: Duration) {
    serve_repository_tarball(github, REPOSITORY, commit, body, delay).await
}

/// [`serve_tarball`] for any repository.
async fn serve_repository_tarball(github: &MockServer, repository: &str, commit: &str, body: Vec<u8>, delay: Duration) {
    let download = format!("/codeload/{repository}/legacy.tar.gz/{commit}");
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repository}/tarball/{commit}")))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}{download}", github.uri())))
        .mount(github)
        .await;
    Mock::given(method("GET"))
        .and(path(download))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(body)
                .insert_header("content-type", "application/x-gzip")
                .set_delay(delay),
        )
        .mount(github)
        .await;
}

fn context(pool: &PgPool, github: &MockServer, limits: Limits) -> Arc<JobContext> {
    context_with_index(pool, github, "http://127.0.0.1:9/simple/", limits)
}

pub(crate) fn context_with_index(pool: &PgPool, github: &MockServer, index: &str, limits: Limits) -> Arc<JobContext> {
    let config = GitHubConfig { api_url: github.uri(), ..Default::default() };
    let cache = tempfile::tempdir().unwrap().keep();
    let mut context = JobContext::new(pool.clone(), config, index, cache, limits).unwrap();
    context.github = Arc::new(
        unthread_server::github::GitHub::new(pool.clone(), &github.uri(), None)
            .unwrap()
            .with_backoff(Duration::from_millis(10)),
    );
    Arc::new(context)
}

/// Runs a worker until no job is waiting or running (or 60 s pass).
pub(crate) async fn run_queue(jobs: &Jobs, context: Arc<JobContext>) {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, shutdown) = (jobs.clone(), shutdown.clone());
        async move { jobs.work(context, 2, shutdown).await }
    });
    let pool = jobs_pool(jobs).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = job_rows::counts(&pool).await.unwrap();
        let busy = counts.iter().filter(|c| c.state == "pending" || c.state == "in_progress").count();
        if busy == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the queue did not drain: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    worker.await.unwrap().unwrap();
}

async fn jobs_pool(jobs: &Jobs) -> PgPool {
    jobs.pool().clone()
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={digest}")
}

/// GitHub's `push` payload (fixture), retargeted at the test repository's `main`.
fn push_payload(after: &str) -> Value {
    let mut payload = fixture("webhook.push.json");
    payload["ref"] = "refs/heads/main".into();
    payload["after"] = after.into();
    payload["repository"]["full_name"] = REPOSITORY.into();
    payload["repository"]["default_branch"] = "main".into();
    payload
}

async fn deliver(pool: &PgPool, delivery: &str, payload: &Value) -> (u16, Value) {
    let app = TestApp::new(pool).with(|s| s.webhook_secret = Some(SECRET.into())).build();
    let body = serde_json::to_vec(payload).unwrap();
    let request = axum::http::Request::post("/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sign(&body))
        .body(axum::body::Body::from(body))
        .unwrap();
    let reply = send(&app, request).await;
    (reply.status.as_u16(), reply.json())
}

async fn open_and_fixed(pool: &PgPool, target: i64) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'open'), count(*) FILTER (WHERE state = 'fixed')
         FROM finding_progress WHERE target_id = $1",
    )
    .bind(target)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn scans(pool: &PgPool, target: i64) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT revision, files_scanned FROM scans WHERE target_id = $1 ORDER BY id")
        .bind(target)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_push_rescans_from_the_tarball_and_the_removed_finding_is_fixed_once() {
    let pool = fresh_database().await;
    let commits = two_commits();
    let github = MockServer::start().await;
    serve_tarball(&github, &commits.first, commits.first_tarball.clone()).await;
    serve_tarball(&github, &commits.second, commits.second_tarball.clone()).await;
    let target = db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    let jobs = Jobs::new(pool.clone());
    let context = context(&pool, &github, Limits::default());

    // The first commit, as a maintainer's rescan would: one open finding.
    let spec = JobSpec::ScanRepository { target: REPOSITORY.into(), commit: commits.first.clone() };
    jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, Priority::Maintainer, "test").await.unwrap();
    run_queue(&jobs, context.clone()).await;
    let recorded = scans(&pool, target).await;
    assert_eq!(recorded, [(commits.first.clone(), 3)], "the commit's sha and its three Python files");
    let (open, fixed) = open_and_fixed(&pool, target).await;
    assert!(open >= 1 && fixed == 0, "the thread local is open: {open} open, {fixed} fixed");
    let team = || async {
        sqlx::query_as::<_, (Option<String>, Option<String>)>(
            "SELECT owner_team, owner_team_source FROM targets WHERE id = $1",
        )
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let read = (Some("acme-core".to_owned()), Some("catalog-info.yaml".to_owned()));
    assert_eq!(team().await, read, "the owner team from the archive's catalog-info.yaml");

    // The push of the second commit.
    let (status, reply) = deliver(&pool, "push-1", &push_payload(&commits.second)).await;
    assert_eq!(status, 200, "{reply}");
    // GitHub redelivers it, and a maintainer asks too: still one job.
    let (status, reply) = deliver(&pool, "push-1", &push_payload(&commits.second)).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("already processed")));
    let spec = JobSpec::ScanRepository { target: REPOSITORY.into(), commit: commits.second.clone() };
    let again = jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, Priority::Maintainer, "test").await.unwrap();
    assert!(matches!(again, Enqueued::Folded(_)), "{again:?}");
    let waiting = job_rows::list(&pool, job_rows::JobFilter::Pending, 10).await.unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].priority, Priority::Maintainer as i32, "the folded request lifted the priority");
    let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM gh_deliveries WHERE delivery_id = 'push-1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(outcome.as_deref().unwrap_or("").starts_with("scan of acme/demo@"), "{outcome:?}");

    run_queue(&jobs, context.clone()).await;
    let recorded = scans(&pool, target).await;
    assert_eq!(recorded.len(), 2, "one scan per commit: {recorded:?}");
    assert_eq!(recorded[1].0, commits.second);
    let (open_after, fixed_after) = open_and_fixed(&pool, target).await;
    assert_eq!((open_after, fixed_after), (open - 1, 1), "the thread local is fixed, nothing else changed");
    assert_eq!(team().await, read, "a broken catalog leaves the team as it was");
    let fixed_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE target_id = $1 AND kind = 'scan.ingested'")
            .bind(target)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(fixed_events, 2, "one event per scan");
    let succeeded = job_rows::succeeded_per_key(&pool, "scan_repository:").await.unwrap();
    assert!(succeeded.iter().all(|(_, n)| *n == 1), "{succeeded:?}");
}

/// `push_payload` for a push that moved the branch from `before` to `after`.
fn push_over(before: &str, after: &str) -> Value {
    let mut payload = push_payload(after);
    payload["before"] = before.into();
    payload
}

#[tokio::test]
async fn an_older_commit_scanned_last_never_becomes_the_latest_state() {
    let pool = fresh_database().await;
    let commits = two_commits();
    let github = MockServer::start().await;
    // The older commit's archive is slow to come: its scan finishes after the newer one's.
    serve_tarball_after(&github, &commits.first, commits.first_tarball.clone(), Duration::from_secs(2)).await;
    serve_tarball(&github, &commits.second, commits.second_tarball.clone()).await;
    let target = db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    let jobs = Jobs::new(pool.clone());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn({
        let (jobs, shutdown, context) = (jobs.clone(), shutdown.clone(), context(&pool, &github, Limits::default()));
        async move { jobs.work(context, 2, shutdown).await }
    });
    let zero = "0000000000000000000000000000000000000000";
    let (status, reply) = deliver(&pool, "push-old", &push_over(zero, &commits.first)).await;
    assert_eq!(status, 200, "{reply}");
    // Once the older scan is running, the newer commit is pushed over it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while job_rows::list(&pool, job_rows::JobFilter::Running, 10).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the first scan never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, reply) = deliver(&pool, "push-new", &push_over(&commits.first, &commits.second)).await;
    assert_eq!(status, 200, "{reply}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts = job_rows::counts(&pool).await.unwrap();
        if counts.iter().all(|c| c.state != "pending" && c.state != "in_progress") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the queue did not drain: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    let recorded = scans(&pool, target).await;
    assert_eq!(recorded.len(), 1, "only the newer commit's scan is recorded: {recorded:?}");
    assert_eq!(recorded[0].0, commits.second);
    let open_thread_locals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM finding_progress WHERE target_id = $1 AND rule = 'UT001' AND state = 'open'",
    )
    .bind(target)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(open_thread_locals, 0, "the thread local the newer commit removed is not open again");
    let succeeded = job_rows::succeeded_per_key(&pool, "scan_repository:").await.unwrap();
    assert_eq!(succeeded.len(), 2, "both jobs are done, one without recording: {succeeded:?}");
}

#[tokio::test]
async fn pushes_in_a_burst_fold_into_one_waiting_scan_of_the_newest_commit() {
    let pool = fresh_database().await;
    db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    let shas: Vec<String> = (1..=20).map(|i| format!("{i:040x}")).collect();
    let mut before = "0".repeat(40);
    for (i, sha) in shas.iter().enumerate() {
        let (status, reply) = deliver(&pool, &format!("burst-{i}"), &push_over(&before, sha)).await;
        assert_eq!(status, 200, "push {i}: {reply}");
        before = sha.clone();
    }
    let waiting = job_rows::list(&pool, job_rows::JobFilter::Pending, 50).await.unwrap();
    let keys: Vec<&str> = waiting.iter().filter_map(|job| job.key.as_deref()).collect();
    assert_eq!(keys, [format!("scan_repository:{REPOSITORY}@{}", shas[19])], "one waiting scan, of the newest head");
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM gh_deliveries WHERE delivery_id = 'burst-19'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(outcome.as_deref().unwrap_or("").contains("in place of 1 waiting for older heads"), "{outcome:?}");
}

#[tokio::test]
async fn pushes_elsewhere_and_untracked_repositories_queue_nothing() {
    let pool = fresh_database().await;
    db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    let sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    let mut branch = push_payload(sha);
    branch["ref"] = "refs/heads/feature".into();
    let mut untracked = push_payload(sha);
    untracked["repository"]["full_name"] = "acme/other".into();
    let tag = {
        let mut payload = fixture("webhook.push.tag-deleted.json");
        payload["repository"]["full_name"] = REPOSITORY.into();
        payload
    };
    for (delivery, payload, expected) in [
        ("d-1", branch, "ignored: refs/heads/feature is not the default branch"),
        ("d-2", untracked, "ignored: acme/other is not tracked"),
        ("d-3", tag, "ignored: refs/tags/simple-tag was deleted"),
    ] {
        let (status, reply) = deliver(&pool, delivery, &payload).await;
        assert_eq!(status, 200, "{reply}");
        let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM gh_deliveries WHERE delivery_id = $1")
            .bind(delivery)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(outcome.as_deref(), Some(expected));
    }
    assert!(job_rows::counts(&pool).await.unwrap().is_empty(), "no job queued");
}

#[tokio::test]
async fn bad_archives_and_missing_repositories_fail_the_job_with_a_reason_and_change_nothing() {
    let pool = fresh_database().await;
    let commits = two_commits();
    let github = MockServer::start().await;
    let target = db::models::targets::upsert(&pool, TargetKind::Library, REPOSITORY).await.unwrap();
    // The first commit is scanned: its finding is open, and must stay so.
    serve_tarball(&github, &commits.first, commits.first_tarball.clone()).await;
    let truncated = commits.second_tarball[..commits.second_tarball.len() / 2].to_vec();
    serve_tarball(&github, "truncated", truncated).await;
    serve_tarball(&github, "not-gzip", b"<html>not an archive</html>".to_vec()).await;
    serve_tarball(&github, "oversized", vec![0x1f; 256 * 1024]).await;
    // The second commit's archive cut exactly after its last member (no end-of-archive
    // blocks), compressed again: it reads as a smaller tree, without `demo/state.py`'s new
    // version, and must not be taken as the whole tree.
    serve_tarball(&github, "cut", without_end_marker(&commits.second_tarball)).await;
    // A compression bomb: 40 MiB of one repeated line in 40 members, under 64 KiB compressed.
    serve_tarball(&github, "bomb", crate::support::archives::bomb(40, 1024 * 1024)).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPOSITORY}/tarball/gone")))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("rest.error.404.json")))
        .mount(&github)
        .await;
    let jobs = Jobs::new(pool.clone());
    let archive = scanner::ArchiveLimits { max_unpacked_bytes: 16 * 1024 * 1024, ..Default::default() };
    let limits = Limits { max_archive_bytes: 128 * 1024, archive, ..Default::default() };
    let context = context(&pool, &github, limits);
    let enqueue = |commit: &str| JobSpec::ScanRepository { target: REPOSITORY.into(), commit: commit.into() };
    let mut conn = pool.acquire().await.unwrap();
    jobs.enqueue(&mut conn, enqueue(&commits.first), Priority::Push, "test").await.unwrap();
    drop(conn);
    run_queue(&jobs, context.clone()).await;
    let before = open_and_fixed(&pool, target).await;

    let mut conn = pool.acquire().await.unwrap();
    for commit in ["truncated", "not-gzip", "oversized", "gone", "cut", "bomb"] {
        jobs.enqueue(&mut conn, enqueue(commit), Priority::Push, "test").await.unwrap();
    }
    drop(conn);
    run_queue(&jobs, context).await;
    let dead = job_rows::list(&pool, job_rows::JobFilter::Dead, 10).await.unwrap();
    let reason = |commit: &str| {
        dead.iter()
            .find(|job| job.key.as_deref() == Some(&format!("scan_repository:{REPOSITORY}@{commit}")))
            .and_then(|job| job.last_error.clone())
            .unwrap_or_else(|| panic!("{commit} is dead: {dead:?}"))
    };
    assert!(reason("truncated").contains("the archive was not read"), "{}", reason("truncated"));
    assert!(reason("not-gzip").contains("the archive was not read"), "{}", reason("not-gzip"));
    assert!(reason("oversized").contains("larger than the limit of 131072 bytes"), "{}", reason("oversized"));
    assert!(reason("cut").contains("ends without its end-of-archive marker"), "{}", reason("cut"));
    assert!(reason("bomb").contains("unpacks to more than 16777216 bytes"), "{}", reason("bomb"));
    assert!(reason("gone").contains("GitHub has no acme/demo at gone"), "{}", reason("gone"));
    assert_eq!(scans(&pool, target).await.len(), 1, "no scan recorded for a failed job");
    assert_eq!(open_and_fixed(&pool, target).await, before, "nothing fixed");
    // Dead at once: retrying cannot help.
    assert!(dead.iter().all(|job| job.attempts == 1), "{dead:?}");

    // /admin shows the dead jobs with their reasons and a Retry button, to maintainers only.
    let app = TestApp::new(&pool).dev_login().build();
    let maintainer = crate::support::sign_in(&app, "mona", "maintainer").await;
    let contributor = crate::support::sign_in(&app, "carol", "contributor").await;
    let page = send(&app, crate::support::http::get("/admin", Some(&maintainer))).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"dead-jobs\""), "{}", page.body);
    assert!(page.body.contains("the archive was not read"), "the reason is shown");
    assert!(page.body.contains("GitHub has no acme/demo at gone"), "the reason is shown");
    assert_eq!(page.body.matches("data-testid=\"retry\"").count(), 6, "a Retry button per dead job");
    assert!(page.body.contains(&commits.first[..12]), "the last scan's commit");
    let refused = send(&app, crate::support::http::get("/admin", Some(&contributor))).await;
    assert!(refused.body.contains("only maintainers may do this"), "{}", refused.body);
    assert!(!refused.body.contains("the archive was not read"));

    // A maintainer's retry puts one back for one more attempt.
    let gone = dead.iter().find(|job| job.key.as_deref().is_some_and(|k| k.ends_with("@gone"))).unwrap();
    assert_eq!(job_rows::retry(&pool, gone.id).await.unwrap(), job_rows::Change::Done);
    assert_eq!(job_rows::retry(&pool, gone.id).await.unwrap(), job_rows::Change::NotApplicable);
    assert_eq!(job_rows::cancel(&pool, gone.id).await.unwrap(), job_rows::Change::Done);
    assert_eq!(job_rows::cancel(&pool, gone.id).await.unwrap(), job_rows::Change::NotApplicable);
}

/// A PEP 691 project page listing one pure wheel per `(version, bytes)`, and the files.
async fn publish(index: &MockServer, name: &str, versions: &[(&str, Vec<u8>)]) {
    use sha2::Digest;
    let module = name.replace('-', "_");
    let files: Vec<Value> = versions
        .iter()
        .map(|(version, bytes)| {
            let filename = format!("{module}-{version}-py3-none-any.whl");
            let sha: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            serde_json::json!({"filename": filename, "url": format!("../../files/{filename}"), "hashes": {"sha256": sha}})
        })
        .collect();
    let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": name, "files": files});
    Mock::given(method("GET"))
        .and(path(format!("/simple/{name}/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"))
        .mount(index)
        .await;
    for (version, bytes) in versions {
        Mock::given(method("GET"))
            .and(path(format!("/files/{module}-{version}-py3-none-any.whl")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            .mount(index)
            .await;
    }
}

#[tokio::test]
async fn a_pushed_pin_bump_scans_the_new_version_and_its_fixes_say_so() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let index = MockServer::start().await;
    let local = |name: &str| format!("import threading\n\n{name} = threading.local()\n");
    publish(
        &index,
        "demo-lib",
        &[
            (
                "1.0",
                wheel(&[
                    ("demo_lib/__init__.py", ""),
                    ("demo_lib/a.py", &local("_a")),
                    ("demo_lib/b.py", &local("_b")),
                ]),
            ),
            (
                "1.1",
                wheel(&[("demo_lib/__init__.py", ""), ("demo_lib/a.py", "A = 1\n"), ("demo_lib/b.py", &local("_b"))]),
            ),
        ],
    )
    .await;
    let pins = |version: &str| format!("demo-lib=={version}\n    # via -r requirements/edx/kernel.in\n");
    let made = commits(&[
        &[("app/__init__.py", ""), ("requirements/edx/base.txt", &pins("1.0"))],
        &[("requirements/edx/base.txt", &pins("1.1"))],
    ]);
    for (sha, tarball) in &made {
        serve_tarball(&github, sha, tarball.clone()).await;
    }
    // The platform watches requirements/edx/base.txt from the start.
    db::models::targets::upsert(&pool, TargetKind::Platform, REPOSITORY).await.unwrap();
    let jobs = Jobs::new(pool.clone());
    let context = context_with_index(&pool, &github, &format!("{}/simple/", index.uri()), Limits::default());

    let (status, reply) = deliver(&pool, "push-a", &push_payload(&made[0].0)).await;
    assert_eq!(status, 200, "{reply}");
    run_queue(&jobs, context.clone()).await;
    let dependency: i64 =
        sqlx::query_scalar("SELECT id FROM targets WHERE name = 'demo-lib'").fetch_one(&pool).await.unwrap();
    let findings = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, String, bool)>(
            "SELECT id, path, fixed_in_scan IS NOT NULL FROM findings WHERE target_id = $1 ORDER BY path",
        )
        .bind(dependency)
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let before = findings(pool.clone()).await;
    assert_eq!(
        before.iter().map(|f| (f.1.as_str(), f.2)).collect::<Vec<_>>(),
        [("demo_lib/a.py", false), ("demo_lib/b.py", false)]
    );

    let (status, reply) = deliver(&pool, "push-b", &push_payload(&made[1].0)).await;
    assert_eq!(status, 200, "{reply}");
    run_queue(&jobs, context).await;
    let after = findings(pool.clone()).await;
    assert_eq!(after[0], (before[0].0, "demo_lib/a.py".into(), true), "fixed by the new version");
    assert_eq!(after[1], (before[1].0, "demo_lib/b.py".into(), false), "present in both: same finding, still open");
    let revisions: Vec<Option<String>> =
        sqlx::query_scalar("SELECT revision FROM scans WHERE target_id = $1 ORDER BY id")
            .bind(dependency)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(revisions, [Some("1.0".into()), Some("1.1".into())]);

    let history = db::models::findings::history(&pool, after[0].0).await.unwrap();
    let fixed = history.iter().find(|h| h.kind == "findings.fixed").expect("a fix in the history");
    let expected = format!(
        "Fixed by bumping demo-lib 1.0 → 1.1 in requirements/edx/base.txt at {} of {REPOSITORY}",
        &made[1].0[..12]
    );
    assert!(fixed.summary.starts_with(&expected), "{}", fixed.summary);
    let page =
        send(&TestApp::new(&pool).build(), crate::support::http::get(&format!("/findings/{}", after[0].0), None)).await;
    assert!(page.body.contains("Fixed by bumping demo-lib 1.0 → 1.1"), "the finding's page says why");
}

#[tokio::test]
async fn a_git_reference_pin_is_scanned_from_that_repository_at_that_ref() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let xblock = commits(&[&[("demo_xblock/__init__.py", "import threading\n\n_state = threading.local()\n")]]);
    // GitHub resolves the ref (a branch) to the commit its archive names.
    serve_repository_tarball(&github, "acme/demo-xblock", "v2-branch", xblock[0].1.clone(), Duration::ZERO).await;
    serve_repository(&github, "acme/demo-xblock", false).await;
    // A private repository's code is never scanned to be shown as a dependency.
    serve_repository(&github, "acme/private-lib", true).await;
    serve_repository_tarball(&github, "acme/private-lib", "main", xblock[0].1.clone(), Duration::ZERO).await;
    let pins = "demo-xblock @ git+https://github.com/acme/demo-xblock.git@v2-branch\n    # via -r requirements/edx/kernel.in\n\
        private-lib @ git+https://github.com/acme/private-lib.git@main\n    # via -r requirements/edx/kernel.in\n\
        sneaky-lib @ git+https://github.com/acme/lib.git@x/../../../private-lib/tarball/main\n    # via -r requirements/edx/kernel.in\n";
    let made = commits(&[&[("app/__init__.py", ""), ("requirements/edx/base.txt", pins)]]);
    serve_tarball(&github, &made[0].0, made[0].1.clone()).await;
    db::models::targets::upsert(&pool, TargetKind::Platform, REPOSITORY).await.unwrap();
    let jobs = Jobs::new(pool.clone());
    let (status, reply) = deliver(&pool, "push-ref", &push_payload(&made[0].0)).await;
    assert_eq!(status, 200, "{reply}");
    run_queue(&jobs, context(&pool, &github, Limits::default())).await;
    let scanned: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT t.name, s.revision, (SELECT count(*) FROM findings f WHERE f.target_id = t.id)
         FROM scans s JOIN targets t ON t.id = s.target_id WHERE t.kind = 'dependency'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(scanned, [("demo-xblock".into(), Some(xblock[0].0.clone()), 1)], "scanned at the resolved commit");
    let dead = job_rows::list(&pool, job_rows::JobFilter::Dead, 10).await.unwrap();
    let reasons: Vec<&str> = dead.iter().filter_map(|job| job.last_error.as_deref()).collect();
    assert!(reasons.iter().any(|r| r.contains("acme/private-lib is a private repository")), "{reasons:?}");
    let requests = github.received_requests().await.unwrap();
    assert!(!requests.iter().any(|r| r.url.path().contains("private-lib/tarball")), "the private archive was fetched");
    assert!(!requests.iter().any(|r| r.url.as_str().contains("..") || r.url.as_str().contains("acme/lib")));
}

/// GitHub's repository resource (fixture) for `repository`, public or private.
async fn serve_repository(github: &MockServer, repository: &str, private: bool) {
    let mut body = fixture("rest.repos.get.json");
    body["full_name"] = repository.into();
    body["private"] = private.into();
    body["visibility"] = if private { "private" } else { "public" }.into();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{repository}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(github)
        .await;
}

/// `tarball` (gzip of a tar) cut exactly after its last member: the end-of-archive blocks
/// and `git archive`'s record padding removed, compressed again.
fn without_end_marker(tarball: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(tarball).read_to_end(&mut tar).unwrap();
    let data_end = tar.iter().rposition(|b| *b != 0).unwrap() + 1;
    tar.truncate(data_end.div_ceil(512) * 512);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).unwrap();
    encoder.finish().unwrap()
}

/// `--repo owner/name` (and `unthread track`): the repository is scanned from GitHub with no
/// checkout anywhere — its default branch from the repository's metadata, its head from the
/// tarball — and a later signed push rescans it; once untracked, pushes are ignored.
#[tokio::test]
async fn a_repository_tracked_from_github_is_scanned_without_a_checkout() {
    let pool = fresh_database().await;
    let commits = two_commits();
    let github = MockServer::start().await;
    let mut meta = fixture("rest.repos.get.json");
    meta["full_name"] = REPOSITORY.into();
    meta["default_branch"] = "main".into();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPOSITORY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(&github)
        .await;
    serve_tarball(&github, "main", commits.first_tarball.clone()).await;
    serve_tarball(&github, &commits.second, commits.second_tarball.clone()).await;
    let jobs = Jobs::new(pool.clone());
    let tracking = unthread_server::jobs::tracking::track(&pool, &jobs, REPOSITORY, "--repo").await.unwrap();
    assert!(matches!(tracking, db::models::targets::Tracking::Started(_)), "{tracking:?}");
    run_queue(&jobs, context(&pool, &github, Limits::default())).await;
    let target = tracking.id();
    assert_eq!(scans(&pool, target).await, [(commits.first.clone(), 3)], "the default branch's head, from the tarball");
    let branch: Option<String> = sqlx::query_scalar("SELECT default_branch FROM targets WHERE id = $1")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(branch.as_deref(), Some("main"));
    // Tracking it again queues nothing new: it has been scanned.
    let again = unthread_server::jobs::tracking::track(&pool, &jobs, REPOSITORY, "cli").await.unwrap();
    assert!(matches!(again, db::models::targets::Tracking::Already(_)));
    assert!(job_rows::list(&pool, job_rows::JobFilter::Pending, 10).await.unwrap().is_empty());

    let (status, reply) = deliver(&pool, "tracked-push", &push_over(&commits.first, &commits.second)).await;
    assert_eq!(status, 200, "{reply}");
    run_queue(&jobs, context(&pool, &github, Limits::default())).await;
    assert_eq!(scans(&pool, target).await.len(), 2, "the push rescanned it");

    assert!(unthread_server::jobs::tracking::untrack(&pool, REPOSITORY, "cli").await.unwrap());
    let (status, reply) = deliver(&pool, "untracked-push", &push_over(&commits.second, &"f".repeat(40))).await;
    assert_eq!(status, 200, "{reply}");
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM gh_deliveries WHERE delivery_id = 'untracked-push'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(outcome.unwrap_or_default().contains("not tracked"), "pushes to an untracked repository are ignored");
    assert_eq!(scans(&pool, target).await.len(), 2, "its history stays");
    let events: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT kind, data->>'via' FROM events WHERE kind LIKE 'repository.%' AND target_id = $1 ORDER BY id",
    )
    .bind(target)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [("repository.tracked".into(), Some("--repo".into())), ("repository.untracked".into(), Some("cli".into()))],
        "tracking again changed nothing: no event"
    );
    // Bad names are refused before anything is stored.
    for bad in ["acme", "acme/../x", "a/b/c", "acme/re po"] {
        assert!(unthread_server::jobs::tracking::track(&pool, &jobs, bad, "cli").await.is_err(), "{bad}");
    }
}
