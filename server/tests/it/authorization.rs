//! Who may do what: every mutating endpoint × {anonymous, contributor, maintainer}, the
//! cross-site refusal, and CI uploads with API tokens (scoped, revocable).

use crate::support::{fresh_database, seed_finding, send, sign_in, TestApp};
use std::path::Path;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use serde_json::{json, Value};
use tower::ServiceExt;
use unthread_server::{config::GitHubConfig, github::sync::SyncConfig};
use wiremock::MockServer;

fn app(pool: &sqlx::PgPool, github: &MockServer) -> Router {
    app_with(pool, github, false)
}

fn app_with(pool: &sqlx::PgPool, github: &MockServer, private: bool) -> Router {
    // Syncs requested through the API go to a fake GitHub that knows nothing (404s).
    let github = GitHubConfig {
        api_url: github.uri(),
        token: None,
        sync: SyncConfig { epics: vec!["openedx/openedx-platform#38680".parse().unwrap()], repositories: vec![] },
    };
    let app = TestApp::new(pool).dev_login().with(|s| s.github = Some(github));
    if private { app.private() } else { app }.build()
}

async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let reply = send(app, request.body(body).unwrap()).await;
    (reply.status, reply.json())
}

struct World {
    target: i64,
    finding: i64,
    issue: i64,
}

async fn world(pool: &sqlx::PgPool) -> World {
    let target =
        db::models::targets::upsert(pool, db::kinds::TargetKind::Library, "openedx/ruff-sample").await.unwrap();
    let finding = seed_finding(pool, target, "a.py", None).await;
    let issue: i64 = sqlx::query_scalar(
        "INSERT INTO gh_issues (id, repository, number, title, state, html_url, created_at, updated_at)
         VALUES (77, 'openedx/ruff-sample', 1, 'thread locals', 'open', 'https://github.com/openedx/ruff-sample/issues/1', now(), now())
         RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    World { target, finding, issue }
}

#[tokio::test]
async fn every_mutation_checks_who_asks() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app(&pool, &github);
    let w = world(&pool).await;
    let contributor = sign_in(&app, "carol", "contributor").await;
    let maintainer = sign_in(&app, "mona", "maintainer").await;

    // Things for the maintainer to delete: a token and a link.
    let (_, token) = call(
        &app,
        Method::POST,
        "/api/v1/tokens",
        Some(&maintainer),
        Some(json!({"name": "ci", "targets": ["openedx/ruff-sample"]})),
    )
    .await;
    let token_id = token["id"].as_i64().unwrap();
    let (_, link) = call(
        &app,
        Method::POST,
        "/api/v1/links",
        Some(&maintainer),
        Some(json!({"target_id": w.target, "issue_id": w.issue})),
    )
    .await;
    let link_id = link["id"].as_i64().unwrap();

    // A job for the maintainer to retry, then cancel.
    let jobs = unthread_server::jobs::queue::Jobs::new(pool.clone());
    let job = jobs
        .enqueue(
            &mut pool.acquire().await.unwrap(),
            unthread_server::jobs::queue::JobSpec::Noop { label: "matrix".into() },
            unthread_server::jobs::queue::Priority::Background,
            "test",
        )
        .await
        .unwrap()
        .id();
    db::models::jobs::cancel(&pool, job).await.unwrap();

    let token_body = json!({"name": "another", "targets": ["openedx/ruff-sample"]});
    let link_body = json!({"finding_id": w.finding, "issue_id": w.issue});
    let endpoints: [(Method, String, Option<Value>, StatusCode); 9] = [
        (Method::POST, "/api/v1/tokens".into(), Some(token_body), StatusCode::CREATED),
        (Method::GET, "/api/v1/tokens".into(), None, StatusCode::OK),
        (Method::DELETE, format!("/api/v1/tokens/{token_id}"), None, StatusCode::NO_CONTENT),
        (Method::POST, "/api/v1/links".into(), Some(link_body), StatusCode::CREATED),
        (Method::DELETE, format!("/api/v1/links/{link_id}"), None, StatusCode::NO_CONTENT),
        (Method::POST, "/api/v1/sync".into(), None, StatusCode::ACCEPTED),
        (Method::POST, format!("/api/v1/targets/{}/rescan", w.target), None, StatusCode::ACCEPTED),
        (Method::POST, format!("/api/v1/jobs/{job}/retry"), None, StatusCode::ACCEPTED),
        (Method::POST, format!("/api/v1/jobs/{job}/cancel"), None, StatusCode::OK),
    ];
    for (method, uri, body, allowed) in endpoints {
        for (who, cookie, expected) in [
            ("anonymous", None, StatusCode::UNAUTHORIZED),
            ("contributor", Some(contributor.as_str()), StatusCode::FORBIDDEN),
            ("maintainer", Some(maintainer.as_str()), allowed),
        ] {
            let (status, reply) = call(&app, method.clone(), &uri, cookie, body.clone()).await;
            assert_eq!(status, expected, "{method} {uri} as {who}: {reply}");
        }
    }
    // What the refused calls would have changed is unchanged; what the maintainer did is done.
    let links: Vec<(String, bool)> =
        sqlx::query_as("SELECT how, removed_at IS NOT NULL FROM links ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(links, [("manual".into(), true), ("manual".into(), false)]);
    let tokens: Vec<(String, bool)> = sqlx::query_as("SELECT name, revoked_at IS NOT NULL FROM api_tokens ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(tokens, [("ci".into(), true), ("another".into(), false)]);
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT concurrency_key, state::text FROM underway.task ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        queued,
        [
            ("noop:matrix".into(), "cancelled".into()),
            ("scan_repository:openedx/ruff-sample@HEAD".into(), "pending".into())
        ],
        "one rescan queued by the maintainer; the job retried, then cancelled"
    );

    // A write another site triggers in the maintainer's browser is refused.
    let request = Request::post("/api/v1/links")
        .header(header::COOKIE, &maintainer)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"finding_id": w.finding, "issue_id": w.issue}).to_string()))
        .unwrap();
    assert_eq!(app.clone().oneshot(request).await.unwrap().status(), StatusCode::FORBIDDEN);
    let same_origin = Request::post("/api/v1/links")
        .header(header::COOKIE, &maintainer)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"target_id": w.target, "issue_id": w.issue}).to_string()))
        .unwrap();
    assert_eq!(app.clone().oneshot(same_origin).await.unwrap().status(), StatusCode::CREATED);
}

/// Calls a server function the way the hydrated page does (form-encoded, JSON answer).
async fn call_action(app: &Router, endpoint: &str, cookie: Option<&str>, form: &str) -> StatusCode {
    let mut request = Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.clone().oneshot(request.body(Body::from(form.to_owned())).unwrap()).await.unwrap().status()
}

#[tokio::test]
async fn every_dashboard_action_checks_who_asks() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app(&pool, &github);
    let w = world(&pool).await;
    let contributor = sign_in(&app, "carol", "contributor").await;
    let maintainer = sign_in(&app, "mona", "maintainer").await;
    let f = w.finding;
    let t = w.target;

    // (endpoint, form, contributor's answer, maintainer's answer), in an order where each
    // allowed call leaves the state the next one expects.
    let actions: [(&str, String, StatusCode, StatusCode); 15] = [
        ("claim", format!("kind=finding&id={f}"), StatusCode::OK, StatusCode::CONFLICT),
        ("unclaim", format!("kind=finding&id={f}"), StatusCode::OK, StatusCode::CONFLICT),
        ("claim", format!("kind=target&id={t}"), StatusCode::OK, StatusCode::CONFLICT),
        ("assign", format!("kind=target&id={t}&login=mona"), StatusCode::FORBIDDEN, StatusCode::OK),
        ("triage", format!("id={f}&state=false_positive&reason=generated+code"), StatusCode::FORBIDDEN, StatusCode::OK),
        ("triage", format!("id={f}&state=wont_fix"), StatusCode::FORBIDDEN, StatusCode::UNPROCESSABLE_ENTITY),
        ("admin", String::new(), StatusCode::FORBIDDEN, StatusCode::OK),
        ("rescan", format!("target_id={t}"), StatusCode::FORBIDDEN, StatusCode::OK),
        ("create_token", "name=ci&targets=openedx%2Fruff-sample".into(), StatusCode::FORBIDDEN, StatusCode::OK),
        ("retry_job", "id=00000000-0000-0000-0000-000000000000".into(), StatusCode::FORBIDDEN, StatusCode::NOT_FOUND),
        ("track_repository", "repository=openedx%2Fnewly-tracked".into(), StatusCode::FORBIDDEN, StatusCode::OK),
        ("track_repository", "repository=not+a+repository".into(), StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST),
        ("untrack_repository", "repository=openedx%2Fnewly-tracked".into(), StatusCode::FORBIDDEN, StatusCode::OK),
        (
            "untrack_repository",
            "repository=openedx%2Fnewly-tracked".into(),
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
        ),
        // This server has no GitHub token: signed in or not, no pull request is queued
        // (tests/it/changes.rs covers a server that has one).
        ("open_change", format!("finding={f}"), StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (endpoint, form, as_contributor, as_maintainer) in &actions {
        assert_eq!(
            call_action(&app, endpoint, None, form).await,
            StatusCode::UNAUTHORIZED,
            "{endpoint} {form} anonymous"
        );
        assert_eq!(
            call_action(&app, endpoint, Some(&contributor), form).await,
            *as_contributor,
            "{endpoint} {form} contributor"
        );
        assert_eq!(
            call_action(&app, endpoint, Some(&maintainer), form).await,
            *as_maintainer,
            "{endpoint} {form} maintainer"
        );
    }
    // Refused calls changed nothing: the target went from carol to mona, the finding was
    // triaged once.
    let owners: Vec<(String, bool)> = sqlx::query_as(
        "SELECT u.login, c.released_at IS NULL FROM claims c JOIN users u ON u.id = c.owner_id ORDER BY c.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(owners, [("carol".into(), false), ("carol".into(), false), ("mona".into(), true)]);
    let triage: (String, i64) = sqlx::query_as(
        "SELECT (SELECT triage FROM findings WHERE id = $1), (SELECT count(*) FROM events WHERE kind = 'finding.triaged')",
    )
    .bind(f)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(triage, ("false_positive".into(), 1));

    // Bad input is refused with a clear status and changes nothing.
    assert_eq!(call_action(&app, "claim", Some(&contributor), "kind=planet&id=1").await, StatusCode::BAD_REQUEST);
    assert_eq!(call_action(&app, "claim", Some(&contributor), "kind=finding&id=999999").await, StatusCode::NOT_FOUND);
    assert_eq!(call_action(&app, "claim", Some(&contributor), "kind=finding&id=abc").await, StatusCode::BAD_REQUEST);
    assert_eq!(
        call_action(&app, "assign", Some(&maintainer), &format!("kind=finding&id={f}&login=")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

fn upload(target: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut request = Request::post(format!("/api/v1/scans?target={target}&root=/tmp/ruffsample"));
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.header(header::CONTENT_TYPE, "application/sarif+json").body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn ci_uploads_scans_with_a_scoped_revocable_token() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app(&pool, &github);
    world(&pool).await;
    db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/other").await.unwrap();
    let maintainer = sign_in(&app, "mona", "maintainer").await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/tokens",
        Some(&maintainer),
        Some(json!({"name": "ci", "targets": ["openedx/ruff-sample"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("unt_") && secret.len() == 68);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_tokens").fetch_one(&pool).await.unwrap();
    assert_ne!(stored, secret.as_bytes(), "only a hash is stored");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/tokens",
        Some(&maintainer),
        Some(json!({"name": "x", "targets": ["nope/nope"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown target in scope");
    // The REST endpoint validates names as /admin does: 1 to 100 characters.
    for name in ["x".repeat(5000), "a\u{7}b".to_owned(), "  ".to_owned()] {
        let body = json!({"name": name, "targets": ["openedx/ruff-sample"]});
        let (status, reply) = call(&app, Method::POST, "/api/v1/tokens", Some(&maintainer), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        assert!(reply.to_string().contains("1 to 100 characters"), "{reply}");
    }
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens").fetch_one(&pool).await.unwrap();
    assert_eq!(tokens, 1, "nothing stored for a refused name");

    let sarif =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/ruff-0.17.6-async.sarif"))
            .unwrap();
    let send = |request| app.clone().oneshot(request);
    assert_eq!(
        send(upload("openedx/ruff-sample", None, sarif.clone())).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(upload("openedx/ruff-sample", Some("unt_forged"), sarif.clone())).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(upload("openedx/other", Some(&secret), sarif.clone())).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let bad = send(upload("openedx/ruff-sample", Some(&secret), b"{\"version\": \"2.1.0\", \"runs\": 7}".to_vec()))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let scans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM scans WHERE tool <> 'seed'").fetch_one(&pool).await.unwrap();
    assert_eq!(scans, 0, "nothing recorded from refused uploads");

    let ok = send(upload("openedx/ruff-sample", Some(&secret), sarif.clone())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let used: bool =
        sqlx::query_scalar("SELECT last_used_at IS NOT NULL FROM api_tokens").fetch_one(&pool).await.unwrap();
    assert!(used);

    let id = created["id"].as_i64().unwrap();
    let (status, _) = call(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&maintainer), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(upload("openedx/ruff-sample", Some(&secret), sarif)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_private_unthread_shows_nothing_to_anonymous_visitors() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app_with(&pool, &github, true);
    let get = |uri: &str, cookie: Option<&str>| {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    let page = get("/", None).await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[header::LOCATION], "/auth/login");
    assert_eq!(get("/healthz", None).await.unwrap().status(), StatusCode::OK);
    let (status, _) = call(&app, Method::POST, "/api/overview", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reader = sign_in(&app, "carol", "contributor").await;
    assert_eq!(get("/", Some(&reader)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn writes_must_come_from_this_servers_own_origin() {
    let pool = fresh_database().await;
    let login = |origin: &str| {
        Request::post("/auth/dev-login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "unthread.example.org")
            .header(header::ORIGIN, origin)
            .body(Body::from("login=ana&role=contributor"))
            .unwrap()
    };
    // Behind a proxy that terminates TLS: the configured public URL says https.
    let app = TestApp::new(&pool).dev_login().public_url("https://unthread.example.org").build();
    assert_eq!(send(&app, login("https://unthread.example.org")).await.status, StatusCode::SEE_OTHER);
    for origin in ["http://unthread.example.org", "https://unthread.example.org:8443", "https://evil.example", "null"] {
        assert_eq!(send(&app, login(origin)).await.status, StatusCode::FORBIDDEN, "{origin}");
    }
    // Served directly, no public URL: the request's own host, over http.
    let direct = TestApp::new(&pool).dev_login().build();
    assert_eq!(send(&direct, login("http://unthread.example.org")).await.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&direct, login("https://evil.example")).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn who_asks_is_checked_before_the_body_is_read() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app(&pool, &github);
    let contributor = sign_in(&app, "bilal", "contributor").await;
    for (method, uri) in [(Method::POST, "/api/v1/tokens"), (Method::POST, "/api/v1/links")] {
        for (cookie, expected) in
            [(None, StatusCode::UNAUTHORIZED), (Some(contributor.as_str()), StatusCode::FORBIDDEN)]
        {
            let mut request =
                Request::builder().method(method.clone()).uri(uri).header(header::CONTENT_TYPE, "application/json");
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            // A body that does not parse: refused for who sends it, not for what it holds.
            let reply = send(&app, request.body(Body::from("{not json")).unwrap()).await;
            assert_eq!(reply.status, expected, "{method} {uri} as {cookie:?}: {}", reply.body);
        }
    }
}

/// The pages' attach and detach forms (server functions, plain form posts): maintainers only,
/// each change an event, and a reference that is not a synced item refused with the reason.
#[tokio::test]
async fn maintainers_attach_and_detach_links_from_the_pages() {
    let pool = fresh_database().await;
    let github = MockServer::start().await;
    let app = app(&pool, &github);
    let w = world(&pool).await;
    let contributor = sign_in(&app, "carol", "contributor").await;
    let maintainer = sign_in(&app, "mona", "maintainer").await;
    let form = |uri: &str, cookie: Option<&str>, body: String| {
        let mut request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        request.body(Body::from(body)).unwrap()
    };
    let attach = format!("kind=target&id={}&reference=openedx%2Fruff-sample%231", w.target);
    for (who, cookie, expected) in [
        ("anonymous", None, StatusCode::UNAUTHORIZED),
        ("contributor", Some(contributor.as_str()), StatusCode::FORBIDDEN),
    ] {
        let reply = send(&app, form("/api/attach_link", cookie, attach.clone())).await;
        assert_eq!(reply.status, expected, "{who}: {}", reply.body);
    }
    let reply = send(&app, form("/api/attach_link", Some(&maintainer), attach.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for (body, expected) in [
        (format!("kind=target&id={}&reference=openedx%2Fruff-sample%232", w.target), "is not synced"),
        (format!("kind=target&id={}&reference=38707", w.target), "names no issue"),
        (format!("kind=team&id={}&reference=openedx%2Fruff-sample%231", w.target), "cannot link"),
    ] {
        let reply = send(&app, form("/api/attach_link", Some(&maintainer), body)).await;
        assert!(reply.status.is_client_error() && reply.body.contains(expected), "{}: {}", reply.status, reply.body);
    }
    let link: i64 = sqlx::query_scalar("SELECT id FROM links WHERE target_id = $1 AND how = 'manual'")
        .bind(w.target)
        .fetch_one(&pool)
        .await
        .unwrap();
    let reply = send(&app, form("/api/detach_link", Some(&contributor), format!("link={link}"))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(&app, form("/api/detach_link", Some(&maintainer), format!("link={link}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = send(&app, form("/api/detach_link", Some(&maintainer), format!("link={link}"))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "already detached");
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, actor FROM events WHERE kind LIKE 'link.%' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(events, [("link.added".into(), "mona".into()), ("link.removed".into(), "mona".into())]);
    let _ = w.issue;
}
