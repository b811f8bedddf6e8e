//! Names from GitHub accounts are text: a display name holding HTML and script is escaped in
//! every server-rendered page that shows it (the browser suite checks the same for snippets,
//! symbols and issue titles, with a real browser); and every answer, page or error, carries
//! the security headers.

use crate::support::{fresh_database, seed_finding, TestApp};
use axum::{body::Body, http::Request};
use tower::ServiceExt;

const NAME: &str = r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"#;

#[tokio::test]
async fn a_display_name_with_html_is_escaped_wherever_it_is_shown() {
    let pool = fresh_database().await;
    let user_id: i64 =
        sqlx::query_scalar("INSERT INTO users (login, name, role) VALUES ('mallory', $1, 'contributor') RETURNING id")
            .bind(NAME)
            .fetch_one(&pool)
            .await
            .unwrap();
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let finding = seed_finding(&pool, target, "edx_ace/channel.py", Some("ChannelMap")).await;
    let user = db::models::users::by_id(&pool, user_id).await.unwrap().unwrap();
    db::models::claims::claim(&pool, &user, db::models::claims::Item::Finding(finding)).await.unwrap();

    let router = TestApp::new(&pool).build();
    for uri in ["/people/mallory".to_owned(), format!("/findings/{finding}"), "/repos".to_owned(), "/".to_owned()] {
        let response = router.clone().oneshot(Request::get(&uri).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let html =
            String::from_utf8(axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap().to_vec()).unwrap();
        assert_eq!(status, 200, "{uri}: {html}");
        assert!(!html.contains("<script>window.__pwned"), "{uri}: the name's script tag is escaped");
        assert!(!html.contains("<img src=x"), "{uri}: the name's img tag is escaped");
        if uri == "/people/mallory" {
            assert!(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"), "{uri}: shown as text");
        }
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let pool = fresh_database().await;
    let router = TestApp::new(&pool).build();
    let requests = [
        Request::get("/").body(Body::empty()).unwrap(),
        Request::get("/findings?state=%3Cscript%3E").body(Body::empty()).unwrap(),
        Request::get("/reports/weekly/nonsense").body(Body::empty()).unwrap(),
        Request::get("/reports/weekly/2026-W47.md?tz=%3Cb%3Ebold").body(Body::empty()).unwrap(),
        Request::post("/api/v1/scans?target=x").body(Body::empty()).unwrap(),
        Request::get("/pkg/missing.js").body(Body::empty()).unwrap(),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    ];
    for request in requests {
        let uri = request.uri().to_string();
        let response = router.clone().oneshot(request).await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{uri}");
        assert_eq!(header("referrer-policy").as_deref(), Some("strict-origin-when-cross-origin"), "{uri}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{uri}");
        assert!(header("content-security-policy").is_some_and(|csp| csp.contains("frame-ancestors 'none'")), "{uri}");
    }
}

#[tokio::test]
async fn pages_allow_only_their_own_scripts() {
    let pool = fresh_database().await;
    let router = TestApp::new(&pool).build();
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = router.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        let html =
            String::from_utf8(axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap().to_vec()).unwrap();
        let nonce =
            policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_owned();
        assert!(policy.contains("script-src 'self' 'nonce-") && policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"), "{policy}");
        // Every inline script of the page carries this response's nonce.
        let scripts = html.matches("<script").count();
        assert!(
            scripts > 0 && html.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts,
            "{scripts} scripts: {html}"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every response");
}

/// Pages are gzipped for clients that accept it; the live stream never is (a compressor
/// would hold its events back).
#[tokio::test]
async fn pages_are_compressed_and_the_live_stream_is_not() {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).build();
    let get = |path: &str| Request::get(path).header("accept-encoding", "gzip").body(Body::empty()).unwrap();
    let page = app.clone().oneshot(get("/findings")).await.unwrap();
    assert_eq!(page.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let bytes = http_body_util::BodyExt::collect(page.into_body()).await.unwrap().to_bytes();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html).unwrap();
    assert!(html.contains("<html"), "a gzipped page");
    let live = app.clone().oneshot(get(app::live::LIVE_PATH)).await.unwrap();
    assert_eq!(live.headers().get("content-type").map(|v| v.to_str().unwrap()), Some("text/event-stream"));
    assert!(live.headers().get("content-encoding").is_none(), "the live stream is not compressed");
    let plain = app.oneshot(Request::get("/findings").body(Body::empty()).unwrap()).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none(), "only for clients that ask");
}
