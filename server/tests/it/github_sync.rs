//! `unthread sync` against a fake GitHub (wiremock) serving the real payloads of
//! ../shared/fixtures/github/. Where the fixtures have no payload for a resource (the epic,
//! its sub-issues in other repositories), it is derived from the closest real one by
//! changing only the identifying fields (id, number, title, body, URLs), as noted at each.

use crate::support::github::{fixture, serve_with_etag};
use crate::support::{finding, fresh_database, scan_input};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};
use unthread_server::{
    github::{sync::SyncConfig, GitHub},
    ingest::scan::{ingest, IncomingFinding},
};
use wiremock::{
    matchers::{header, method, path},
    Mock, MockServer, Request, Respond, ResponseTemplate,
};

/// rest.repos.issues.get.json turned into issue `repository#number` (an issue, not a pull
/// request: its `pull_request` key is removed).
fn issue(base: &str, repository: &str, number: u64, title: &str, body: &str) -> Value {
    let mut issue = fixture("rest.repos.issues.get.json");
    issue["id"] = json!(number * 1000 + 7);
    issue["number"] = json!(number);
    issue["title"] = json!(title);
    issue["body"] = json!(body);
    issue["repository_url"] = json!(format!("{base}/repos/{repository}"));
    issue["url"] = json!(format!("{base}/repos/{repository}/issues/{number}"));
    issue["html_url"] = json!(format!("https://github.com/{repository}/issues/{number}"));
    issue.as_object_mut().unwrap().remove("pull_request");
    issue
}

/// Primary rate limit exhausted until a second from now (the documented 403 body); keeps
/// the reset time it announced.
struct RateLimited(Arc<std::sync::atomic::AtomicI64>);

impl Respond for RateLimited {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let reset = chrono::Utc::now().timestamp() + 1;
        self.0.store(reset, Ordering::SeqCst);
        ResponseTemplate::new(403)
            .set_body_json(fixture("rest.error.403.rate_limit.json"))
            .insert_header("x-ratelimit-limit", "60")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
    }
}

/// The target `name` with one open finding at `path` in `symbol`.
async fn target_with_finding(pool: &sqlx::PgPool, kind: &str, name: &str, path: &str, symbol: &str) -> i64 {
    let target = db::models::targets::upsert(pool, kind.parse().unwrap(), name).await.unwrap();
    let finding = IncomingFinding {
        runs_at: None,
        fingerprint: format!("fp-{name}-{path}"),
        end_column: 30,
        symbol: Some(symbol.into()),
        message: "thread-local subclass".into(),
        snippet: Some("class RequestCache(threading.local):".into()),
        ..finding("UT002", path, 3)
    };
    let input = scan_input(target, vec![finding]);
    ingest(pool, &input).await.unwrap();
    target
}

#[tokio::test]
async fn sync_fills_the_tables_then_costs_only_conditional_requests() {
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let base = gh.uri();
    let platform = "openedx/openedx-platform";
    let utils = "openedx/edx-django-utils";
    target_with_finding(
        &pool,
        "platform",
        platform,
        "lms/djangoapps/courseware/views.py",
        "lms.djangoapps.courseware.views.index",
    )
    .await;
    target_with_finding(
        &pool,
        "library",
        utils,
        "edx_django_utils/cache/utils.py",
        "edx_django_utils.cache.utils.RequestCache",
    )
    .await;
    target_with_finding(&pool, "library", "octocat/Hello-World", "file1.txt", "file1").await;

    // The epic: the first request hits an exhausted rate limit that resets a second later.
    let announced_reset = Arc::new(std::sync::atomic::AtomicI64::new(0));
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680")))
        .respond_with(RateLimited(announced_reset.clone()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gh)
        .await;
    let epic = issue(
        &base,
        platform,
        38680,
        "Make the platform safe for async by replacing all thread locals with contextvars",
        "Epic.",
    );
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38680"), epic, None).await;

    // Its sub-issues over two pages: one in edx-django-utils (which has a sub-issue of its
    // own), the fixture's pull request #1347 of octocat/Hello-World, one in the platform.
    let sub_a = issue(
        &base,
        utils,
        101,
        "Replace RequestCache's thread local",
        "`RequestCache` in edx_django_utils/cache/utils.py subclasses threading.local",
    );
    let pull_item = fixture("rest.repos.issues.sub_issues.list.json")[0].clone();
    let sub_b = issue(&base, platform, 38700, "courseware: request cache", "Part of #38680");
    let sub_c =
        issue(&base, utils, 102, "monitoring: thread locals", "See also https://unthread.example.org/findings/999999");
    let page2 = format!("{base}/repos/{platform}/issues/38680/sub_issues?per_page=100&page=2");
    serve_with_etag(
        &gh,
        &format!("/repos/{platform}/issues/38680/sub_issues"),
        json!([sub_a, pull_item]),
        Some(format!("<{page2}>; rel=\"next\"")),
    )
    .await;
    // wiremock matches paths, not queries: page 2 is told apart by a query matcher.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680/sub_issues")))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([sub_b])).insert_header("etag", "\"page2\""))
        .with_priority(4)
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680/sub_issues")))
        .and(wiremock::matchers::query_param("page", "2"))
        .and(header("if-none-match", "\"page2\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&gh)
        .await;
    // The edx-django-utils sub-issue's own list: a server error first, then the answer.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{utils}/issues/101/sub_issues")))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gh)
        .await;
    serve_with_etag(&gh, &format!("/repos/{utils}/issues/101/sub_issues"), json!([sub_c]), None).await;
    serve_with_etag(&gh, &format!("/repos/{utils}/issues/102/sub_issues"), json!([]), None).await;
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38700/sub_issues"), json!([]), None).await;
    // Their timelines: nothing references them.
    for (repository, number) in [(utils, 101), (utils, 102), (platform, 38700)] {
        serve_with_etag(&gh, &format!("/repos/{repository}/issues/{number}/timeline"), json!([]), None).await;
    }
    serve_with_etag(&gh, "/repos/octocat/Hello-World/pulls/1347", fixture("rest.repos.pulls.get.json"), None).await;
    serve_with_etag(&gh, "/repos/octocat/Hello-World/pulls/1347/files", fixture("rest.repos.pulls.files.json"), None)
        .await;

    // A tracked repository: octokit's recorded issue list, where issue 12's body (changed
    // here) mentions the epic; the others do not and are not kept.
    let mut listed = fixture("rest.repos.issues.list.page1.octokit-fixtures.json");
    listed[1]["body"] = json!("Part of openedx/openedx-platform#38680");
    serve_with_etag(&gh, "/repos/octokit-fixture-org/paginate-issues/issues", listed, None).await;

    let github =
        GitHub::new(pool.clone(), &base, Some("test-token".into())).unwrap().with_backoff(Duration::from_millis(50));
    let config = SyncConfig {
        epics: vec!["openedx/openedx-platform#38680".parse().unwrap()],
        repositories: vec!["octokit-fixture-org/paginate-issues".into()],
    };
    let started = std::time::Instant::now();
    let first = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    println!("first sync: {first:?} in {:?}", started.elapsed());
    assert_eq!(first.rate_limited, 1, "waited for the rate limit to reset");
    assert!(
        chrono::Utc::now().timestamp() >= announced_reset.load(Ordering::SeqCst),
        "the wait lasted until the announced reset"
    );
    assert_eq!(first.retries, 1, "the 500 was retried");
    assert_eq!((first.issues, first.pulls), (5, 1));

    let issues: Vec<(String, i32, String, Option<String>, Option<i32>)> = sqlx::query_as(
        "SELECT repository, number, state, parent_repository, parent_number FROM gh_issues ORDER BY repository, number",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        issues,
        [
            ("octokit-fixture-org/paginate-issues".into(), 12, "open".into(), None, None),
            (utils.into(), 101, "open".into(), Some(platform.into()), Some(38680)),
            (utils.into(), 102, "open".into(), Some(utils.into()), Some(101)),
            (platform.into(), 38680, "open".into(), None, None),
            (platform.into(), 38700, "open".into(), Some(platform.into()), Some(38680)),
        ]
    );
    let pull: (String, i32, bool, Vec<String>) =
        sqlx::query_as("SELECT repository, number, merged, files FROM gh_pulls").fetch_one(&pool).await.unwrap();
    assert_eq!(pull, ("octocat/Hello-World".into(), 1347, false, vec!["file1.txt".to_owned()]));

    let links: Vec<(String, String, String)> = sqlx::query_as(
        r#"SELECT l.how,
                  coalesce(t.name, ft.name || ':' || f.path),
                  coalesce(i.repository || '#' || i.number, p.repository || '#' || p.number)
           FROM links l
           LEFT JOIN targets t ON t.id = l.target_id
           LEFT JOIN findings f ON f.id = l.finding_id LEFT JOIN targets ft ON ft.id = f.target_id
           LEFT JOIN gh_issues i ON i.id = l.issue_id LEFT JOIN gh_pulls p ON p.id = l.pull_id
           ORDER BY 1, 2, 3"#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        links,
        [
            ("mention".into(), format!("{utils}:edx_django_utils/cache/utils.py"), format!("{utils}#101")),
            ("path".into(), "octocat/Hello-World:file1.txt".into(), "octocat/Hello-World#1347".into()),
            ("sub_issue".into(), utils.into(), format!("{utils}#101")),
            ("sub_issue".into(), utils.into(), format!("{utils}#102")),
            ("sub_issue".into(), platform.into(), format!("{platform}#38700")),
        ]
    );

    // Second run: every request is conditional and answered 304 — no rate limit spent.
    let seen_before = gh.received_requests().await.unwrap().len();
    let second = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    println!("second sync: {second:?}");
    let requests = gh.received_requests().await.unwrap();
    let second_requests = &requests[seen_before..];
    assert_eq!(second_requests.len() as u32, second.requests);
    assert!(second_requests.iter().all(|r| r.headers.contains_key("if-none-match")), "all conditional");
    assert_eq!(second.not_modified, second.requests, "all answered 304");
    assert_eq!((second.rate_limited, second.retries), (0, 0));
    let runs: Vec<String> =
        sqlx::query_scalar("SELECT status FROM gh_sync_runs ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(runs, ["complete", "complete"]);
}

#[tokio::test]
async fn a_failed_run_keeps_what_it_stored_and_the_next_one_resumes() {
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let base = gh.uri();
    let platform = "openedx/openedx-platform";
    let epic = issue(&base, platform, 38680, "Epic", "Epic.");
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38680"), epic, None).await;
    // The sub-issue list keeps failing during the first run (5 attempts).
    struct BadGateway(Arc<AtomicUsize>);
    impl Respond for BadGateway {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            self.0.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(502)
        }
    }
    let failures = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680/sub_issues")))
        .respond_with(BadGateway(failures.clone()))
        .up_to_n_times(5)
        .with_priority(1)
        .mount(&gh)
        .await;
    let sub = issue(&base, platform, 38700, "sub", "Part of #38680");
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38680/sub_issues"), json!([sub]), None).await;
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38700/sub_issues"), json!([]), None).await;

    let github = GitHub::new(pool.clone(), &base, None).unwrap().with_backoff(Duration::from_millis(10));
    let config = SyncConfig { epics: vec!["openedx/openedx-platform#38680".parse().unwrap()], repositories: vec![] };
    let err = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap_err();
    assert!(err.to_string().contains("502") || format!("{err:#}").contains("502"), "{err:#}");
    assert_eq!(failures.load(Ordering::SeqCst), 5);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM gh_issues").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 1, "the epic fetched before the failure is kept");
    let status: String = sqlx::query_scalar("SELECT status FROM gh_sync_runs").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");

    let report = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    assert_eq!(report.issues, 2);
    assert_eq!(report.not_modified, 1, "the epic is not fetched again in full");
}

#[tokio::test]
async fn a_run_that_times_out_and_meets_errors_is_completed_by_the_next() {
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let base = gh.uri();
    let platform = "openedx/openedx-platform";
    let epic = issue(&base, platform, 38680, "Epic", "Epic.");
    // The epic answers 500 twice, then its sub-issues hang past the read timeout on every
    // attempt of the first run.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680")))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&gh)
        .await;
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38680"), epic, None).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{platform}/issues/38680/sub_issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])).set_delay(Duration::from_secs(5)))
        .up_to_n_times(5)
        .with_priority(1)
        .mount(&gh)
        .await;
    let sub = issue(&base, platform, 38700, "sub", "Part of #38680");
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38680/sub_issues"), json!([sub]), None).await;
    serve_with_etag(&gh, &format!("/repos/{platform}/issues/38700/sub_issues"), json!([]), None).await;

    let github = GitHub::with_read_timeout(pool.clone(), &base, None, Duration::from_millis(300))
        .unwrap()
        .with_backoff(Duration::from_millis(10));
    let config = SyncConfig { epics: vec!["openedx/openedx-platform#38680".parse().unwrap()], repositories: vec![] };
    let err = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap_err();
    assert!(format!("{err:#}").contains("sub_issues"), "{err:#}");
    assert_eq!(github.counters.retries.load(Ordering::SeqCst), 2 + 4, "two 500s and four timeouts retried");

    let report = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    assert_eq!(report.issues, 2, "the next run completes");
    let runs: Vec<String> =
        sqlx::query_scalar("SELECT status FROM gh_sync_runs ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(runs, ["failed", "complete"]);
}
