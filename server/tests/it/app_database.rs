//! The schema, the server functions and the health check against a real PostgreSQL.

use crate::support::{fresh_database, scan_input, send, TestApp};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use sqlx::PgPool;
use unthread_server::ingest::scan::ingest;

fn app(pool: &PgPool) -> Router {
    TestApp::new(pool).build()
}

/// The status and the body of `app`'s answer to `request`.
async fn status_and_body(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let reply = send(app, request).await;
    (reply.status, reply.body)
}

async fn seed(pool: &PgPool) {
    for (kind, name) in [("platform", "openedx/openedx-platform"), ("dependency", "django-crum")] {
        let id = db::models::targets::upsert(pool, kind.parse().unwrap(), name).await.unwrap();
        // One event per target: its first (empty) scan.
        ingest(pool, &scan_input(id, vec![])).await.unwrap();
    }
}

#[tokio::test]
async fn migrations_create_the_schema() {
    let pool = fresh_database().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.contains(&"targets".to_owned()), "{tables:?}");
    assert!(tables.contains(&"events".to_owned()), "{tables:?}");
    let queue: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'underway' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(queue.contains(&"task".to_owned()), "the job queue's tables: {queue:?}");
    // Migrating again is a no-op.
    db::migrate(&pool).await.unwrap();
}

#[tokio::test]
async fn target_names_must_match_their_kind() {
    let pool = fresh_database().await;
    for (kind, name) in [("dependency", "openedx/edx-ace"), ("library", "edx-ace"), ("platform", " a/b")] {
        let result = db::models::targets::upsert(&pool, kind.parse().unwrap(), name).await;
        assert!(result.is_err(), "({kind}, {name:?}) must be refused");
    }
    // The code cannot name another kind; the schema refuses one all the same.
    let bogus = sqlx::query("INSERT INTO targets (kind, name) VALUES ('bogus', 'a/b')").execute(&pool).await;
    assert!(bogus.is_err(), "an unknown kind must be refused");
    db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
}

#[tokio::test]
async fn events_are_append_only() {
    let pool = fresh_database().await;
    seed(&pool).await;
    let update = sqlx::query("UPDATE events SET kind = 'target.renamed'").execute(&pool).await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events").execute(&pool).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn scans_are_never_deleted_and_a_findings_scans_are_in_order() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let scan: i64 = sqlx::query_scalar(
        "INSERT INTO scans (target_id, tool, status, finished_at) VALUES ($1, 't', 'complete', now()) RETURNING id",
    )
    .bind(target)
    .fetch_one(&pool)
    .await
    .unwrap();
    let delete = sqlx::query("DELETE FROM scans").execute(&pool).await;
    assert!(delete.unwrap_err().to_string().contains("scans keeps history"));

    let insert = |last_seen: i64, fixed: Option<i64>| {
        sqlx::query(
            "INSERT INTO findings (target_id, fingerprint, rule, path, start_line, end_line, first_seen_scan, last_seen_scan, fixed_in_scan)
             VALUES ($1, md5(random()::text), 'UT001', 'a.py', 1, 1, $2, $3, $4)",
        )
        .bind(target)
        .bind(scan)
        .bind(last_seen)
        .bind(fixed)
        .execute(&pool)
    };
    assert!(insert(scan - 1, None).await.unwrap_err().to_string().contains("findings_seen_after_first_seen"));
    assert!(insert(scan, Some(scan)).await.unwrap_err().to_string().contains("findings_fixed_after_last_seen"));
    insert(scan, None).await.unwrap();
}

#[tokio::test]
async fn overview_server_function_reads_postgres() {
    let pool = fresh_database().await;
    seed(&pool).await;
    let request = Request::post("/api/overview")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let (status, body) = status_and_body(&app(&pool), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overview: app::pages::overview::Overview = serde_json::from_str(&body).unwrap();
    assert_eq!(overview.target_count, 2);
    let sides: Vec<&str> = overview.by_side.iter().map(|(side, _)| side.as_str()).collect();
    assert_eq!(sides, ["repositories", "dependencies"]);
    assert!(overview.burndown.len() <= app::pages::overview::BURNDOWN_DAYS as usize);
    // Two first scans that found nothing, the same day: one line, newest target first.
    assert_eq!(overview.activity.len(), 1, "{:?}", overview.activity);
    assert!(
        overview.activity[0].sentence.starts_with("2 scans with no change on ")
            && overview.activity[0].sentence.ends_with("(django-crum, openedx/openedx-platform)"),
        "{:?}",
        overview.activity
    );
}

#[tokio::test]
async fn overview_page_renders_complete_html_on_the_server() {
    let pool = fresh_database().await;
    seed(&pool).await;
    let (status, html) = status_and_body(&app(&pool), Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // Rendered in place, not in a <template> waiting for JavaScript to move it.
    assert!(!html.contains("<template"), "{html}");
    assert!(html.contains(r#"data-testid="target-count">2<"#), "{html}");
    assert!(html.contains("/pkg/unthread.js"), "hydration script is referenced");
    let (status, html) = status_and_body(&app(&pool), Request::get("/repos").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("openedx/openedx-platform"), "{html}");
    assert!(!html.contains("django-crum"), "dependencies are listed apart: {html}");
}

#[tokio::test]
async fn unknown_paths_are_404_pages() {
    let pool = fresh_database().await;
    let (status, html) = status_and_body(&app(&pool), Request::get("/no/such/page").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn healthz_follows_the_database() {
    let pool = fresh_database().await;
    let app = app(&pool);
    let (status, _) = status_and_body(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    pool.close().await;
    let (status, body) = status_and_body(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
