//! The fake GitHub: wiremock serving the real REST and webhook payloads of
//! `../shared/fixtures/github` (see its README for where each comes from).

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::{
    matchers::{header, method, path},
    Mock, MockServer, ResponseTemplate,
};

/// Where the recorded GitHub payloads are.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/github")
}

/// The recorded payload `name` (e.g. `rest.repos.issues.get.json`).
pub fn fixture(name: &str) -> Value {
    let file = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (../shared beside the checkout?)", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Serves `body` at `route` as GitHub does: with an ETag, rate-limit headers and an optional
/// `Link` header; a request carrying that ETag gets 304 Not Modified.
pub async fn serve_with_etag(server: &MockServer, route: &str, body: Value, link: Option<String>) {
    let etag = format!("\"{:x}\"", route.len() * 7919 + body.to_string().len());
    Mock::given(method("GET"))
        .and(path(route))
        .and(header("if-none-match", etag.as_str()))
        .respond_with(ResponseTemplate::new(304).insert_header("etag", etag.as_str()))
        .with_priority(2)
        .mount(server)
        .await;
    let mut ok = ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("etag", etag.as_str())
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "4922")
        .insert_header("x-ratelimit-resource", "core");
    if let Some(link) = link {
        ok = ok.insert_header("link", link.as_str());
    }
    Mock::given(method("GET")).and(path(route)).respond_with(ok).with_priority(5).mount(server).await;
}
