//! The application under test, built as the server builds it, and requests sent to it
//! in-process (no socket).

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use sqlx::PgPool;
use tower::ServiceExt;
use unthread_server::{auth::AuthConfig, router};

/// A router for one test: anonymous reads only unless asked for more.
pub struct TestApp {
    pool: PgPool,
    settings: router::Settings,
}

impl TestApp {
    pub fn new(pool: &PgPool) -> Self {
        let auth = AuthConfig { public_url: "http://127.0.0.1:3000".into(), ..Default::default() };
        Self { pool: pool.clone(), settings: router::Settings { auth, ..Default::default() } }
    }

    /// `serve --dev-login`: sign in as anyone (see [`crate::support::sign_in`]).
    pub fn dev_login(mut self) -> Self {
        self.settings.auth.dev_login = true;
        self
    }

    /// `serve --public-url <url>`.
    pub fn public_url(mut self, url: &str) -> Self {
        self.settings.auth.public_url = url.to_owned();
        self.settings.auth.public_url_configured = true;
        self
    }

    /// `serve --private`.
    pub fn private(mut self) -> Self {
        self.settings.auth.private = true;
        self
    }

    /// Anything else of the server's settings.
    pub fn with(mut self, change: impl FnOnce(&mut router::Settings)) -> Self {
        change(&mut self.settings);
        self
    }

    pub fn build(self) -> Router {
        let options = router::leptos_options("target/site", "pkg", "127.0.0.1:0".parse().unwrap());
        router::build(self.pool, options, self.settings)
    }
}

/// What a response said, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` to `app` and reads the whole answer.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a readable body");
    Reply { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

/// A GET of `uri`, with a session cookie when given.
pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("a valid request")
}
