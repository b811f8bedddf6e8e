//! Sign-in with GitHub against a fake GitHub (wiremock) serving the real OAuth, `/user` and
//! permission payloads of ../shared/fixtures/github: the whole web flow, a state that does
//! not match, a code used twice, roles from repository permissions, sign-out, the
//! development login — and no secret in the logs.

use crate::support::github::fixture;
use crate::support::{self, fresh_database, http::get, TestApp};
use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use serde_json::{json, Value};
use unthread_server::auth::AuthConfig;
use wiremock::{
    matchers::{body_string_contains, method, path},
    Mock, MockServer, ResponseTemplate,
};

const CLIENT_SECRET: &str = "oauth-client-secret-for-tests";

/// The fake GitHub: the token endpoint accepts `good-code` once (PKCE verifier required),
/// then answers like GitHub does for a used code; `/user` is octocat; the permission on the
/// epic's repository is `permission`.
async fn fake_github(permission: Value) -> MockServer {
    let gh = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(body_string_contains("code=good-code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("oauth.access_token.json")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&gh)
        .await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
        })))
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("rest.user.json")))
        .mount(&gh)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/openedx/openedx-platform/collaborators/octocat/permission"))
        .respond_with(ResponseTemplate::new(200).set_body_json(permission))
        .mount(&gh)
        .await;
    gh
}

fn app(pool: &sqlx::PgPool, gh: &MockServer, dev_login: bool) -> Router {
    let auth = AuthConfig {
        client_id: Some("Iv1.testclient".into()),
        client_secret: Some(CLIENT_SECRET.into()),
        github_web_url: gh.uri(),
        github_api_url: gh.uri(),
        public_url: "http://127.0.0.1:3000".into(),
        public_url_configured: true,
        maintainers: vec![],
        maintainer_repository: Some("openedx/openedx-platform".into()),
        dev_login,
        private: false,
    };
    TestApp::new(pool).with(|s| s.auth = auth).build()
}

struct Reply {
    status: StatusCode,
    location: String,
    /// `name=value` of a session cookie the response sets.
    cookie: Option<String>,
    body: String,
}

/// The answer to `request`, with the session cookie it sets checked for its attributes.
async fn send(app: &Router, request: Request<Body>) -> Reply {
    let reply = support::send(app, request).await;
    let location = reply.header(header::LOCATION).unwrap_or_default().to_owned();
    let cookie = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("unthread_session="));
    // (A sign-out answers with an emptied, expired cookie.)
    if let Some(cookie) = cookie.as_ref().filter(|c| !c.starts_with("unthread_session=;")) {
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
    }
    Reply {
        status: reply.status,
        location,
        cookie: cookie.map(|c| c.split(';').next().unwrap().to_owned()),
        body: reply.body,
    }
}

/// Starts a sign-in: the session cookie and the `state` sent to GitHub.
async fn start(app: &Router, gh: &MockServer) -> (String, String) {
    let reply = send(app, get("/auth/login", None)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let authorize = reqwest::Url::parse(&reply.location).unwrap();
    assert_eq!(format!("{}{}", gh.uri(), authorize.path()), format!("{}/login/oauth/authorize", gh.uri()));
    let query: std::collections::HashMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "Iv1.testclient");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["redirect_uri"], "http://127.0.0.1:3000/auth/callback");
    (reply.cookie.expect("a session cookie"), query["state"].clone())
}

/// Collects everything logged while a test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything this test binary logs while the returned guard lives (a global subscriber:
/// scoped ones miss callsites that tests on other threads met first). Dropping the guard
/// turns logging off again: left at TRACE, every later test of the binary formatted every
/// event of every crate into this buffer.
fn capture_logs() -> (Logs, CaptureGuard) {
    use tracing_subscriber::{filter::LevelFilter, layer::SubscriberExt, reload};
    static CAPTURE: std::sync::OnceLock<(Logs, reload::Handle<LevelFilter, tracing_subscriber::Registry>)> =
        std::sync::OnceLock::new();
    let (logs, handle) = CAPTURE.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let (filter, handle) = reload::Layer::new(LevelFilter::OFF);
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()).with_ansi(false));
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
        (logs, handle)
    });
    handle.modify(|level| *level = LevelFilter::TRACE).expect("the subscriber is installed");
    (logs.clone(), CaptureGuard(handle.clone()))
}

struct CaptureGuard(
    tracing_subscriber::reload::Handle<tracing_subscriber::filter::LevelFilter, tracing_subscriber::Registry>,
);

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let _ = self.0.modify(|level| *level = tracing_subscriber::filter::LevelFilter::OFF);
    }
}

#[tokio::test]
async fn the_github_web_flow_signs_in_once_per_code_and_state() {
    let (logs, _capturing) = capture_logs();

    let pool = fresh_database().await;
    let gh = fake_github(fixture("rest.repos.collaborators.permission.json")).await;
    let app = app(&pool, &gh, false);

    // A state that does not match is refused before GitHub is asked anything.
    let (cookie, _) = start(&app, &gh).await;
    let reply = send(&app, get("/auth/callback?code=good-code&state=forged", Some(&cookie))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(gh.received_requests().await.unwrap().iter().all(|r| r.url.path() != "/login/oauth/access_token"));

    // The real flow.
    let (cookie, state) = start(&app, &gh).await;
    let reply = send(&app, get(&format!("/auth/callback?code=good-code&state={state}"), Some(&cookie))).await;
    assert_eq!((reply.status, reply.location.as_str()), (StatusCode::SEE_OTHER, "/"), "{}", reply.body);
    let signed_in = reply.cookie.expect("the session id is rotated at sign-in");
    assert_ne!(signed_in, cookie);
    let user: (String, Option<String>, String, bool) =
        sqlx::query_as("SELECT login, name, role, dev_only FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(user, ("octocat".into(), Some("monalisa octocat".into()), "maintainer".into(), false));
    // The same state cannot be replayed, and the same code is refused by GitHub.
    let again = send(&app, get(&format!("/auth/callback?code=good-code&state={state}"), Some(&cookie))).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    let (cookie2, state2) = start(&app, &gh).await;
    let reused = send(&app, get(&format!("/auth/callback?code=good-code&state={state2}"), Some(&cookie2))).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "{}", reused.body);

    // Sign-out deletes the session.
    let sessions_before: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.unwrap();
    let request = Request::post("/auth/logout").header(header::COOKIE, &signed_in).body(Body::empty()).unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::SEE_OTHER);
    let sessions_after: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.unwrap();
    assert_eq!(sessions_after, sessions_before - 1);

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("signed in with GitHub"), "the flow logged: {logged}");
    let session_ids = [cookie, signed_in, cookie2].map(|c| c.split_once('=').unwrap().1.to_owned());
    for secret in [CLIENT_SECRET, "gho_16C7e42F292c6912E7710c838347Ae178B4a", "good-code", &state, &state2]
        .into_iter()
        .chain(session_ids.iter().map(String::as_str))
    {
        assert!(!logged.contains(secret), "a secret reached the logs: {secret}");
    }
}

#[tokio::test]
async fn readers_of_the_repository_are_contributors() {
    let pool = fresh_database().await;
    let mut permission = fixture("rest.repos.collaborators.permission.json");
    permission["permission"] = json!("read");
    permission["role_name"] = json!("read");
    let gh = fake_github(permission).await;
    let app = app(&pool, &gh, false);
    let (cookie, state) = start(&app, &gh).await;
    let reply = send(&app, get(&format!("/auth/callback?code=good-code&state={state}"), Some(&cookie))).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let role: String =
        sqlx::query_scalar("SELECT role FROM users WHERE login = 'octocat'").fetch_one(&pool).await.unwrap();
    assert_eq!(role, "contributor");
}

#[tokio::test]
async fn the_development_login_exists_only_when_asked_for() {
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let form = |body: &str| {
        Request::post("/auth/dev-login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let off = app(&pool, &gh, false);
    assert_eq!(send(&off, form("login=alice&role=maintainer")).await.status, StatusCode::NOT_FOUND);

    let on = app(&pool, &gh, true);
    let reply = send(&on, form("login=alice&role=maintainer")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(reply.cookie.is_some());
    let alice: (String, bool) =
        sqlx::query_as("SELECT role, dev_only FROM users WHERE login = 'alice'").fetch_one(&pool).await.unwrap();
    assert_eq!(alice, ("maintainer".into(), true));
    assert_eq!(send(&on, form("login=not%20a%20login")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(send(&on, form("login=bob&role=admin")).await.status, StatusCode::BAD_REQUEST);
    // A real GitHub account cannot be taken over through the development login.
    sqlx::query("INSERT INTO users (github_id, login) VALUES (583231, 'octocat')").execute(&pool).await.unwrap();
    assert_eq!(send(&on, form("login=octocat")).await.status, StatusCode::CONFLICT);
    // Nor is GitHub sign-in available on this server without an OAuth app.
    let plain = TestApp::new(&pool).build();
    assert_eq!(send(&plain, get("/auth/login", None)).await.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn sign_in_endpoints_are_rate_limited() {
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let app = app(&pool, &gh, false);
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(send(&app, get("/auth/login", None)).await.status);
    }
    assert_eq!(statuses[0], StatusCode::SEE_OTHER);
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Reading pages is not limited.
    for _ in 0..60 {
        assert_ne!(send(&app, get("/healthz", None)).await.status, StatusCode::TOO_MANY_REQUESTS);
    }
}

/// A request from `address` (what `serve` learns from the connection).
fn from(address: &str, uri: &str) -> Request<Body> {
    let mut request = get(uri, None);
    let peer: std::net::SocketAddr = address.parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    request
}

#[tokio::test]
async fn one_noisy_client_does_not_lock_out_the_others() {
    use tower::ServiceExt;
    let pool = fresh_database().await;
    let gh = MockServer::start().await;
    let app = app(&pool, &gh, false);
    let mut refused = None;
    for _ in 0..60 {
        let response = app.clone().oneshot(from("203.0.113.7:50000", "/auth/login")).await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the noisy client is limited");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after <= 60, "told when to come back: {retry_after}s");
    // Someone else signs in as usual, from another address.
    for _ in 0..5 {
        assert_eq!(
            app.clone().oneshot(from("198.51.100.20:41000", "/auth/login")).await.unwrap().status(),
            StatusCode::SEE_OTHER
        );
    }
    // Scan uploads count per token: another token is not held up by a busy one.
    let upload = |token: &str| {
        let mut request = Request::post("/api/v1/scans?target=x")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo("203.0.113.7:50001".parse::<std::net::SocketAddr>().unwrap()));
        request
    };
    let mut busy = Vec::new();
    for _ in 0..60 {
        busy.push(app.clone().oneshot(upload("unt_busy")).await.unwrap().status());
    }
    assert!(busy.contains(&StatusCode::TOO_MANY_REQUESTS), "{busy:?}");
    assert_ne!(app.clone().oneshot(upload("unt_other")).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}
