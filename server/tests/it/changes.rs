//! Changes: pull requests Unthread opens for findings, against a fake GitHub at the HTTP
//! boundary serving the real payload shapes (`rest.git.refs.create.201.json`,
//! `rest.repos.contents.put.201.json`, `rest.repos.pulls.get.json`, the pull request and
//! push webhooks). A fix change goes from the request to the merge: branch, one commit per
//! file naming the blob it replaces, the pull request naming the epic and linking the
//! findings, then the merge webhook and the push's rescan mark the finding fixed and the
//! change merged. And the ways it ends otherwise: no access, a stale file, closed unmerged, a
//! double click; who may ask.

use std::sync::Arc;

use axum::http::{header, Request, StatusCode};
use base64::Engine as _;
use db::kinds::ChangeState;
use serde_json::{json, Value};
use sqlx::PgPool;
use unthread_server::jobs::{queue::Jobs, run::Limits};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::rescans::{context_with_index, run_queue, serve_tarball, REPOSITORY};
use crate::support::{archives::commits, fresh_database, github::fixture, send, sign_in, TestApp};

const SECRET: &str = "webhook secret for changes";

/// A thread local used only as a namespace in a project that depends on Django (so the
/// rewrite to `asgiref.local.Local` is a safe fix), and an unused `threading` import.
const STATE: &str = "import threading\n\n_local = threading.local()\n\n\ndef current_user():\n    return getattr(_local, 'user', None)\n";
const UNUSED: &str = "import threading\n\n\ndef index(request):\n    return 'ok'\n";

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("demo/__init__.py", ""),
        ("demo/state.py", STATE),
        ("demo/views.py", UNUSED),
        ("requirements.txt", "Django>=4.2\n"),
    ]
}

/// What the scanner's own fix makes of `path` (what the pull request must commit).
fn fixed(path: &str, source: &str, rule: &str) -> String {
    let options = scanner::ScanOptions { asgiref_available: true, ..Default::default() };
    let file = scanner::source::SourceFile::in_memory(path.to_owned(), Ok(source.as_bytes().to_vec()));
    let report = scanner::scan::scan_sources(vec![file], "demo", &options);
    let only = report.findings.iter().filter(|f| f.rule == rule).map(|f| f.content_fingerprint.clone()).collect();
    let policy = scanner::fix::FixPolicy { only: Some(only), ..Default::default() };
    let outcome = scanner::fix_file::fix_in_memory(path, source.as_bytes(), "demo", &options, &policy, |_| true);
    String::from_utf8(outcome.fixed).unwrap()
}

struct Setup {
    pool: PgPool,
    github: MockServer,
    jobs: Jobs,
    target: i64,
}

/// A tracked repository scanned once from its default branch.
async fn tracked_and_scanned(github: MockServer, main_tarball: Vec<u8>, first: String) -> Setup {
    let pool = fresh_database().await;
    serve_repository(&github).await;
    serve_tarball(&github, "main", main_tarball.clone()).await;
    serve_tarball(&github, &first, main_tarball).await;
    let jobs = Jobs::new(pool.clone());
    let tracking = unthread_server::jobs::tracking::track(&pool, &jobs, REPOSITORY, "test").await.unwrap();
    run_queue(&jobs, context(&pool, &github)).await;
    Setup { pool, github, jobs, target: tracking.id() }
}

fn context(pool: &PgPool, github: &MockServer) -> Arc<unthread_server::jobs::run::JobContext> {
    let context = context_with_index(pool, github, "http://127.0.0.1:9/simple/", Limits::default());
    let mut context = Arc::try_unwrap(context).ok().expect("a fresh context");
    context.public_url = "https://unthread.example".into();
    context.github_config.sync.epics = vec!["openedx/openedx-platform#38680".parse().unwrap()];
    Arc::new(context)
}

async fn serve_repository(github: &MockServer) {
    let mut meta = fixture("rest.repos.get.json");
    meta["full_name"] = REPOSITORY.into();
    meta["default_branch"] = "main".into();
    meta["private"] = false.into();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPOSITORY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(github)
        .await;
}

/// The write endpoints, answering with the fixtures: `refs` (201), `contents` (`put`'s
/// status), `pulls` (201, a pull request numbered 941).
async fn serve_writes(github: &MockServer, ref_status: u16, put_status: u16) {
    let (refs, put) = (fixture("rest.git.refs.create.201.json"), fixture("rest.repos.contents.put.201.json"));
    let refused = json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"});
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPOSITORY}/git/refs")))
        .respond_with(ResponseTemplate::new(ref_status).set_body_json(if ref_status == 201 { refs } else { refused }))
        .mount(github)
        .await;
    let conflict =
        json!({"message": "demo/state.py does not match 0123", "documentation_url": "https://docs.github.com/rest"});
    Mock::given(method("PUT"))
        .and(wiremock::matchers::path_regex(format!("^/repos/{REPOSITORY}/contents/.+$")))
        .respond_with(ResponseTemplate::new(put_status).set_body_json(if put_status == 201 { put } else { conflict }))
        .mount(github)
        .await;
    let mut pull = fixture("rest.repos.pulls.get.json");
    pull["id"] = 99_001.into();
    pull["number"] = 941.into();
    pull["html_url"] = format!("https://github.com/{REPOSITORY}/pull/941").into();
    pull["state"] = "open".into();
    pull["merged"] = false.into();
    pull["merged_at"] = Value::Null;
    pull["closed_at"] = Value::Null;
    pull["base"]["ref"] = "main".into();
    pull["base"]["repo"]["full_name"] = REPOSITORY.into();
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPOSITORY}/pulls")))
        .respond_with(move |request: &wiremock::Request| {
            // GitHub answers with what was asked: the title and body sent.
            let sent: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let mut pull = pull.clone();
            pull["title"] = sent["title"].clone();
            pull["body"] = sent["body"].clone();
            ResponseTemplate::new(201).set_body_json(pull)
        })
        .mount(github)
        .await;
    Mock::given(method("DELETE"))
        .and(wiremock::matchers::path_regex(format!("^/repos/{REPOSITORY}/git/refs/heads/.+$")))
        .respond_with(ResponseTemplate::new(204))
        .mount(github)
        .await;
}

async fn received(github: &MockServer, verb: &str, prefix: &str) -> Vec<(String, Value)> {
    github
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path().starts_with(prefix))
        .map(|r| (r.url.path().to_owned(), serde_json::from_slice(&r.body).unwrap_or(Value::Null)))
        .collect()
}

/// The dashboard with the development login and a GitHub token (pull requests can be opened).
fn app_with_token(pool: &PgPool, github: &MockServer) -> axum::Router {
    let config = unthread_server::config::GitHubConfig {
        api_url: github.uri(),
        token: Some("test-token".into()),
        ..Default::default()
    };
    TestApp::new(pool).dev_login().with(|s| s.github = Some(config)).build()
}

async fn finding_of(pool: &PgPool, target: i64, rule: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM findings WHERE target_id = $1 AND rule = $2 ORDER BY id LIMIT 1")
        .bind(target)
        .bind(rule)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn post_change(app: &axum::Router, cookie: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = Request::post("/api/v1/changes").header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let reply = send(app, request.body(axum::body::Body::from(body.to_string())).unwrap()).await;
    (reply.status, reply.json())
}

async fn change_state(pool: &PgPool, id: i64) -> db::views::ChangeView {
    db::models::changes::get(pool, id).await.unwrap().expect("the change exists")
}

fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

async fn deliver(pool: &PgPool, event: &str, delivery: &str, payload: &Value) {
    let app = TestApp::new(pool).with(|s| s.webhook_secret = Some(SECRET.into())).build();
    let body = serde_json::to_vec(payload).unwrap();
    let request = Request::post("/webhooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sign(&body))
        .body(axum::body::Body::from(body))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// GitHub's `pull_request` `closed` webhook (fixture) for pull request 941 of the test
/// repository, merged (as `merge`) or not.
fn closed(merge: Option<&str>) -> Value {
    let mut payload = fixture("webhook.pull_request.closed.json");
    let pull = &mut payload["pull_request"];
    pull["id"] = 99_001.into();
    pull["number"] = 941.into();
    pull["html_url"] = format!("https://github.com/{REPOSITORY}/pull/941").into();
    pull["merged"] = merge.is_some().into();
    pull["merged_at"] = if merge.is_some() { "2026-12-07T10:00:00Z".into() } else { Value::Null };
    pull["merge_commit_sha"] = merge.map_or(Value::Null, Into::into);
    pull["base"]["ref"] = "main".into();
    pull["base"]["repo"]["full_name"] = REPOSITORY.into();
    payload["number"] = 941.into();
    payload["repository"]["full_name"] = REPOSITORY.into();
    payload["repository"]["default_branch"] = "main".into();
    payload
}

fn push(before: &str, after: &str) -> Value {
    let mut payload = fixture("webhook.push.json");
    payload["ref"] = "refs/heads/main".into();
    payload["before"] = before.into();
    payload["after"] = after.into();
    payload["repository"]["full_name"] = REPOSITORY.into();
    payload["repository"]["default_branch"] = "main".into();
    payload
}

/// The whole loop: "Fix all UT001" → branch, one commit per file with the replaced blob's
/// sha, a pull request naming the epic and linking the finding → merged webhook + push →
/// the rescan marks the finding fixed and the change is merged. A double click is one change.
#[tokio::test]
async fn a_fix_change_goes_from_the_request_to_the_merge() {
    let fixed_state = fixed("demo/state.py", STATE, "UT001");
    assert!(fixed_state.contains("asgiref.local"), "the scanner's fix: {fixed_state}");
    let made = commits(&[&files(), &[("demo/state.py", fixed_state.as_str())]]);
    let (first, first_tarball) = made[0].clone();
    let (merge, merge_tarball) = made[1].clone();
    let github = MockServer::start().await;
    let setup = tracked_and_scanned(github, first_tarball, first.clone()).await;
    let (pool, github) = (&setup.pool, &setup.github);
    serve_writes(github, 201, 201).await;
    let finding = finding_of(pool, setup.target, "UT001").await;

    let app = app_with_token(pool, github);
    let maintainer = sign_in(&app, "mira", "maintainer").await;
    let ask = json!({"target": REPOSITORY, "rule": "UT001"});
    let (status, change) = post_change(&app, Some(&maintainer), ask.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{change}");
    assert_eq!(change["state"], "queued");
    assert_eq!(change["findings"], json!([finding]));
    let id = change["id"].as_i64().unwrap();
    // A double click: the same change, no second job.
    let (status, again) = post_change(&app, Some(&maintainer), ask).await;
    assert_eq!((status, again["id"].as_i64()), (StatusCode::ACCEPTED, Some(id)));
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM underway.task WHERE input->>'kind' = 'open_change'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(queued, 1, "one job for one change");

    run_queue(&setup.jobs, context(pool, github)).await;
    let view = change_state(pool, id).await;
    assert_eq!(view.state, ChangeState::Open, "{:?}", view.reason);
    assert_eq!(view.pull_number, Some(941));
    assert_eq!(view.branch.as_deref(), Some(format!("unthread/ut001-{id}").as_str()));

    let refs = received(github, "POST", &format!("/repos/{REPOSITORY}/git/refs")).await;
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].1["ref"], format!("refs/heads/unthread/ut001-{id}"));
    assert_eq!(refs[0].1["sha"], first.as_str(), "the branch starts at the scanned head");
    let puts = received(github, "PUT", &format!("/repos/{REPOSITORY}/contents/")).await;
    assert_eq!(puts.len(), 1, "one commit per changed file: {puts:?}");
    assert_eq!(puts[0].0, format!("/repos/{REPOSITORY}/contents/demo/state.py"));
    let body = &puts[0].1;
    assert_eq!(body["branch"], format!("unthread/ut001-{id}"));
    assert_eq!(body["sha"], unthread_server::github::pulls::blob_sha(STATE.as_bytes()), "the replaced blob");
    let content = base64::engine::general_purpose::STANDARD.decode(body["content"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(content).unwrap(), fixed_state);
    let pulls = received(github, "POST", &format!("/repos/{REPOSITORY}/pulls")).await;
    assert_eq!(pulls.len(), 1);
    let pr = &pulls[0].1;
    assert_eq!(
        (pr["head"].as_str(), pr["base"].as_str()),
        (Some(format!("unthread/ut001-{id}").as_str()), Some("main"))
    );
    let text = pr["body"].as_str().unwrap();
    assert!(pr["title"].as_str().unwrap().starts_with("UT001 "), "{pr}");
    assert!(text.contains("Part of openedx/openedx-platform#38680."), "{text}");
    assert!(text.contains(&format!("https://unthread.example/findings/{finding}")), "{text}");
    assert!(text.contains(&format!("https://github.com/{REPOSITORY}/blob/{first}/demo/state.py")), "{text}");
    assert!(text.contains("Fix safety") && text.contains("@mira"), "{text}");
    assert!(text.contains("scanned it again"), "{text}");
    // The pull request is stored and linked to the finding it names.
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM links l JOIN gh_pulls p ON p.id = l.pull_id
         WHERE l.finding_id = $1 AND p.number = 941 AND l.how = 'explicit' AND l.removed_at IS NULL",
    )
    .bind(finding)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(linked, 1);

    // The finding's page links its lines on GitHub at the scanned commit, and shows the
    // message's inline code as code.
    let page = send(&app, crate::support::http::get(&format!("/findings/{finding}"), None)).await.body;
    assert!(page.contains(&format!("https://github.com/{REPOSITORY}/blob/{first}/demo/state.py#L3")), "a permalink");
    assert!(page.contains("<code class=\"rounded bg-slate-100"), "inline code rendered as code");

    // Merged on GitHub: the webhook, then the push of the merge commit.
    github.reset().await;
    serve_repository(github).await;
    serve_tarball(github, "main", merge_tarball.clone()).await;
    serve_tarball(github, &merge, merge_tarball).await;
    deliver(pool, "pull_request", "merged-941", &closed(Some(&merge))).await;
    // Redelivered: nothing changes twice.
    deliver(pool, "pull_request", "merged-941-again", &closed(Some(&merge))).await;
    assert_eq!(change_state(pool, id).await.state, ChangeState::Merged);
    deliver(pool, "push", "push-merge", &push(&first, &merge)).await;
    run_queue(&setup.jobs, context(pool, github)).await;
    let view = change_state(pool, id).await;
    assert_eq!((view.state, view.findings_fixed), (ChangeState::Merged, 1), "the rescan of the merge fixed it");
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM events WHERE kind LIKE 'change.%' AND (data->>'change')::bigint = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(events, ["change.queued", "change.opened", "change.merged"]);
    // Over the API.
    let reply = send(&app, crate::support::http::get(&format!("/api/v1/changes/{id}"), None)).await;
    let body = reply.json();
    assert_eq!(
        (body["state"].as_str(), body["pull_request"]["number"].as_i64()),
        (Some("merged"), Some(941)),
        "{body}"
    );
    let all = send(&app, crate::support::http::get("/api/v1/changes", None)).await.json();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
}

/// No write access: the branch is refused (403) — the change fails with a reason saying so,
/// and nothing was committed. A stale file (409): the branch made for it is deleted, the
/// repository rescanned, and the reason says to try again.
#[tokio::test]
async fn refused_writes_end_the_change_with_a_reason_and_leave_no_branch() {
    let made = commits(&[&files()]);
    let (first, tarball) = made[0].clone();
    for (ref_status, put_status) in [(403, 201), (201, 409)] {
        let github = MockServer::start().await;
        let setup = tracked_and_scanned(github, tarball.clone(), first.clone()).await;
        let (pool, github) = (&setup.pool, &setup.github);
        serve_writes(github, ref_status, put_status).await;
        let user = crate::support::create_user(pool, "mira", "maintainer").await;
        let finding = finding_of(pool, setup.target, "UT012").await;
        let request = app::jobs::ChangeRequest::Findings { findings: vec![finding], unsafe_fixes: false };
        let requested = unthread_server::jobs::changes::request(pool, &setup.jobs, &request, &user).await.unwrap();
        run_queue(&setup.jobs, context(pool, github)).await;
        let view = change_state(pool, requested.change.id).await;
        assert_eq!(view.state, ChangeState::Failed);
        let reason = view.reason.unwrap_or_default();
        let deleted = received(github, "DELETE", &format!("/repos/{REPOSITORY}/git/refs/heads/")).await;
        assert!(received(github, "POST", &format!("/repos/{REPOSITORY}/pulls")).await.is_empty(), "no pull request");
        if ref_status == 403 {
            assert!(reason.contains("cannot push to acme/demo"), "{reason}");
            assert!(received(github, "PUT", "/repos/").await.is_empty(), "nothing committed");
            assert!(deleted.is_empty(), "no branch was made");
        } else {
            assert!(reason.contains("changed since the scan") && reason.contains("try again"), "{reason}");
            assert_eq!(deleted.len(), 1, "the branch made for it is deleted");
            let rescans: Vec<String> = sqlx::query_scalar(
                "SELECT input->>'reason' FROM underway.task WHERE input->>'kind' = 'scan_repository' ORDER BY created_at",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(rescans.iter().any(|r| r == "change conflict"), "the repository is rescanned: {rescans:?}");
        }
        let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'change.failed'")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(failed, 1);
    }
}

/// Closed without merging: the change says so and its findings stay open.
#[tokio::test]
async fn a_pull_request_closed_unmerged_leaves_the_findings_open() {
    let made = commits(&[&files()]);
    let (first, tarball) = made[0].clone();
    let github = MockServer::start().await;
    let setup = tracked_and_scanned(github, tarball, first).await;
    let (pool, github) = (&setup.pool, &setup.github);
    serve_writes(github, 201, 201).await;
    let user = crate::support::create_user(pool, "mira", "maintainer").await;
    let finding = finding_of(pool, setup.target, "UT012").await;
    let request = app::jobs::ChangeRequest::Findings { findings: vec![finding], unsafe_fixes: false };
    let id = unthread_server::jobs::changes::request(pool, &setup.jobs, &request, &user).await.unwrap().change.id;
    run_queue(&setup.jobs, context(pool, github)).await;
    assert_eq!(change_state(pool, id).await.state, ChangeState::Open);
    deliver(pool, "pull_request", "closed-941", &closed(None)).await;
    let view = change_state(pool, id).await;
    assert_eq!((view.state, view.findings_fixed), (ChangeState::Closed, 0));
    let state: String = sqlx::query_scalar("SELECT state FROM finding_progress WHERE finding_id = $1")
        .bind(finding)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(state, "open");
}

/// Who may ask: anonymous 401; a contributor for a finding they do not own 403, for one they
/// claimed 202; a maintainer 202; requests selecting nothing fixable 422 with the reason.
#[tokio::test]
async fn who_may_open_a_change() {
    let made = commits(&[&files()]);
    let (first, tarball) = made[0].clone();
    let github = MockServer::start().await;
    let setup = tracked_and_scanned(github, tarball, first).await;
    let pool = &setup.pool;
    let unused = finding_of(pool, setup.target, "UT012").await;
    let thread_local = finding_of(pool, setup.target, "UT001").await;
    let app = app_with_token(pool, &setup.github);
    let (status, _) = post_change(&app, None, json!({"findings": [unused]})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let contributor = sign_in(&app, "cody", "contributor").await;
    let (status, reply) = post_change(&app, Some(&contributor), json!({"findings": [unused]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    let (status, _) = post_change(&app, Some(&contributor), json!({"bump": "django-crum"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cody = db::models::users::by_login(pool, "cody").await.unwrap().unwrap();
    db::models::claims::claim(pool, &cody, db::kinds::Item::Finding(unused)).await.unwrap();
    let (status, reply) = post_change(&app, Some(&contributor), json!({"findings": [unused]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    // Theirs and someone else's: refused as a whole.
    let (status, _) = post_change(&app, Some(&contributor), json!({"findings": [unused, thread_local]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let maintainer = sign_in(&app, "mira", "maintainer").await;
    let (status, reply) = post_change(&app, Some(&maintainer), json!({"findings": [thread_local]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    for (body, expected) in [
        (json!({"findings": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"findings": [987_654]}), StatusCode::NOT_FOUND),
        (json!({"target": REPOSITORY, "rule": "UT003"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"target": REPOSITORY}), StatusCode::BAD_REQUEST),
        (json!({"findings": [1], "bump": "x"}), StatusCode::BAD_REQUEST),
    ] {
        let (status, reply) = post_change(&app, Some(&maintainer), body.clone()).await;
        assert_eq!(status, expected, "{body} → {reply}");
    }
    let listed = send(&app, crate::support::http::get("/api/v1/changes", None)).await.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    // The pages' form (the server function) makes the same checks and answers the same
    // change for the same request.
    let form = |cookie: &str, body: String| {
        Request::post("/api/open_change")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie.to_owned())
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let reply = send(&app, form(&contributor, format!("finding={unused}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), listed[1]["id"], "the contributor's change, asked again");
    let reply = send(&app, form(&contributor, format!("finding={thread_local}"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = send(&app, form(&maintainer, format!("target={REPOSITORY}&rule=UT012&unsafe_fixes=on"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // Without a token (and in the demo) nothing is queued: the reason is the answer.
    let without = TestApp::new(pool).dev_login().build();
    let maintainer = sign_in(&without, "mira", "maintainer").await;
    let (status, reply) = post_change(&without, Some(&maintainer), json!({"findings": [thread_local]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.to_string().contains("no GitHub token"), "{reply}");
    let demo = TestApp::new(pool).dev_login().with(|s| s.demo = true).build();
    let maintainer = sign_in(&demo, "mira", "maintainer").await;
    let page = send(&demo, crate::support::http::get(&format!("/repos/{REPOSITORY}"), Some(&maintainer))).await;
    assert!(page.body.contains("This demo writes nothing to GitHub"), "the repository page says why");
    assert!(!page.body.contains("Fix all UT0"), "and offers no button");
    let with_token = send(&app, crate::support::http::get(&format!("/findings/{unused}"), Some(&maintainer))).await;
    assert!(with_token.body.contains("data-testid=\"change-note\""), "the finding shows its change");
}

/// A bump: `pkg` 1.0 pinned by the repository's requirements file, its 1.1 (checked from a
/// fake index) clearing the module-level lock. The pull request changes that pin's line only,
/// lists the finding 1.1 clears, and says Requires-Python and that compatibility is not
/// checked. Contributors may not ask for one.
#[tokio::test]
async fn a_bump_change_moves_only_the_pins_line() {
    use crate::upgrades::{release, sha256};
    let requirements = "#\n# pip-compile requirements/base.in\n#\npkg==1.0\n    # via -r requirements/base.in\nsix==1.16.0\n    # via pkg\n";
    let made = commits(&[&[("demo/__init__.py", ""), ("requirements/base.txt", requirements)]]);
    let (first, tarball) = made[0].clone();
    let github = MockServer::start().await;
    let setup = tracked_and_scanned(github, tarball, first.clone()).await;
    let (pool, github) = (&setup.pool, &setup.github);
    serve_writes(github, 201, 201).await;

    // The dependency, scanned at its pin, and its releases checked on a fake index.
    let index = MockServer::start().await;
    let mut files = Vec::new();
    for (filename, bytes) in [release("1.0", true), release("1.1", false)] {
        files.push(json!({"filename": filename, "url": format!("../../files/{filename}"), "hashes": {"sha256": sha256(&bytes)}}));
        Mock::given(method("GET"))
            .and(path(format!("/files/{filename}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes))
            .mount(&index)
            .await;
    }
    let page = json!({"meta": {"api-version": "1.1"}, "name": "pkg", "files": files});
    Mock::given(method("GET"))
        .and(path("/simple/pkg/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"))
        .mount(&index)
        .await;
    let spec = unthread_server::jobs::queue::JobSpec::ScanDependency {
        name: "pkg".into(),
        version: "1.0".into(),
        github: None,
        cause: None,
    };
    let priority = unthread_server::jobs::queue::Priority::Background;
    setup.jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, priority, "test").await.unwrap();
    let with_index = |pool: &PgPool| {
        let context = context_with_index(pool, github, &format!("{}/simple/", index.uri()), Limits::default());
        let mut context = Arc::try_unwrap(context).ok().unwrap();
        context.public_url = "https://unthread.example".into();
        Arc::new(context)
    };
    run_queue(&setup.jobs, with_index(pool)).await;
    // The repository's requirements file pins it (as importing the file records).
    let package: i64 = sqlx::query_scalar("SELECT id FROM packages WHERE name = 'pkg'").fetch_one(pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let file = db::models::packages::requirement_file(&mut *conn, setup.target, "requirements/base.txt").await.unwrap();
    let pin = db::models::packages::Pin {
        package_id: package,
        version: Some("1.0".into()),
        direct_url: None,
        extras: vec![],
        marker: None,
        line: 4,
    };
    db::models::packages::replace_pins(&mut conn, file, &[pin], &[]).await.unwrap();
    drop(conn);
    let lock: i64 = sqlx::query_scalar(
        "SELECT f.id FROM findings f JOIN targets t ON t.id = f.target_id WHERE t.name = 'pkg' AND f.rule = 'UT003'",
    )
    .fetch_one(pool)
    .await
    .unwrap();

    let app = app_with_token(pool, github);
    let contributor = sign_in(&app, "cody", "contributor").await;
    let (status, _) = post_change(&app, Some(&contributor), json!({"bump": "pkg"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let maintainer = sign_in(&app, "mira", "maintainer").await;
    let (status, change) = post_change(&app, Some(&maintainer), json!({"bump": "pkg"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{change}");
    assert_eq!((change["kind"].as_str(), change["subject"].as_str()), (Some("bump"), Some("Bump pkg 1.0 → 1.1")));
    assert_eq!(change["findings"], json!([lock]), "the finding 1.1 clears");
    let (status, reply) = post_change(&app, Some(&maintainer), json!({"bump": "six"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    run_queue(&setup.jobs, with_index(pool)).await;
    let id = change["id"].as_i64().unwrap();
    let view = change_state(pool, id).await;
    assert_eq!(view.state, ChangeState::Open, "{:?}", view.reason);
    assert_eq!(view.branch.as_deref(), Some(format!("unthread/bump-pkg-{id}").as_str()));
    let puts = received(github, "PUT", &format!("/repos/{REPOSITORY}/contents/")).await;
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].0, format!("/repos/{REPOSITORY}/contents/requirements/base.txt"));
    assert_eq!(puts[0].1["sha"], unthread_server::github::pulls::blob_sha(requirements.as_bytes()));
    let content = base64::engine::general_purpose::STANDARD.decode(puts[0].1["content"].as_str().unwrap()).unwrap();
    assert_eq!(String::from_utf8(content).unwrap(), requirements.replace("pkg==1.0\n", "pkg==1.1\n"));
    let pulls = received(github, "POST", &format!("/repos/{REPOSITORY}/pulls")).await;
    let body = pulls[0].1["body"].as_str().unwrap();
    assert!(
        pulls[0].1["title"].as_str().unwrap().starts_with("Bump pkg 1.0 → 1.1: clears 1 of its 2"),
        "{}",
        pulls[0].1
    );
    assert!(body.contains(&format!("https://unthread.example/findings/{lock}")), "{body}");
    assert!(body.contains("Requires-Python of 1.1: >=3.8") && body.contains("Compatibility is not checked"), "{body}");
}

/// GitHub's 5xx while opening the pull request: the branch made for it is deleted and the
/// job tries again later, opening one pull request in the end. A change whose findings are
/// no longer open when it runs is cancelled with that reason, touching nothing on GitHub.
#[tokio::test]
async fn a_5xx_is_retried_from_a_clean_slate_and_a_change_with_nothing_open_is_cancelled() {
    let made = commits(&[&files()]);
    let (first, tarball) = made[0].clone();
    let github = MockServer::start().await;
    let setup = tracked_and_scanned(github, tarball, first).await;
    let (pool, github) = (&setup.pool, &setup.github);
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPOSITORY}/pulls")))
        .respond_with(ResponseTemplate::new(502).set_body_json(json!({"message": "Server Error"})))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(github)
        .await;
    serve_writes(github, 201, 201).await;
    let user = crate::support::create_user(pool, "mira", "maintainer").await;
    let unused = finding_of(pool, setup.target, "UT012").await;
    let request = app::jobs::ChangeRequest::Findings { findings: vec![unused], unsafe_fixes: false };
    let id = unthread_server::jobs::changes::request(pool, &setup.jobs, &request, &user).await.unwrap().change.id;
    run_queue(&setup.jobs, context(pool, github)).await;
    let view = change_state(pool, id).await;
    assert_eq!((view.state, view.pull_number), (ChangeState::Open, Some(941)), "{:?}", view.reason);
    assert_eq!(received(github, "POST", &format!("/repos/{REPOSITORY}/git/refs")).await.len(), 2, "made twice");
    assert_eq!(received(github, "DELETE", &format!("/repos/{REPOSITORY}/git/refs/heads/")).await.len(), 1);
    assert_eq!(received(github, "POST", &format!("/repos/{REPOSITORY}/pulls")).await.len(), 2);

    let thread_local = finding_of(pool, setup.target, "UT001").await;
    let request = app::jobs::ChangeRequest::Findings { findings: vec![thread_local], unsafe_fixes: false };
    let id = unthread_server::jobs::changes::request(pool, &setup.jobs, &request, &user).await.unwrap().change.id;
    // Set aside by a maintainer before a worker got to it.
    sqlx::query("UPDATE findings SET triage = 'wont_fix', triage_reason = 'generated code' WHERE id = $1")
        .bind(thread_local)
        .execute(pool)
        .await
        .unwrap();
    let writes_before = received(github, "POST", "/repos/").await.len();
    run_queue(&setup.jobs, context(pool, github)).await;
    let view = change_state(pool, id).await;
    assert_eq!(view.state, ChangeState::Cancelled);
    assert!(view.reason.unwrap_or_default().contains("none of its findings is open"));
    assert_eq!(received(github, "POST", "/repos/").await.len(), writes_before, "nothing written");
}
