//! `/metrics` in Prometheus' text format: request latency by route template, scan ingestion
//! and GitHub sync durations, work in progress; and a request id on every answer.

use crate::support::{fresh_database, TestApp};
use axum::{body::Body, http::Request};
use tower::ServiceExt;
use unthread_server::ingest::scan::{ingest, ScanInput};

#[tokio::test]
async fn metrics_report_latency_per_route_and_background_work() {
    let pool = fresh_database().await;
    let router = TestApp::new(&pool).build();
    let get = |uri: &str| {
        let router = router.clone();
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap();
            (status, id, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let input = ScanInput { files_scanned: 0, ..crate::support::scan_input(target, vec![]) };
    ingest(&pool, &input).await.unwrap();
    let (status, id, _) = get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(id.unwrap().len(), 36, "a UUID request id");
    assert_eq!(get("/findings/424242").await.0, 404);

    let (status, _, text) = get("/metrics").await;
    assert_eq!(status, 200);
    for expected in [
        "# TYPE unthread_http_request_duration_seconds histogram",
        r#"unthread_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="0.005"}"#,
        r#"route="/findings/{id}",status="404""#,
        r#"unthread_scan_ingest_duration_seconds_count{outcome="ok"}"#,
        r#"unthread_jobs_running{job="github_sync"} 0"#,
        r#"unthread_jobs_running{job="weekly_report"} 0"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // Every sample line is `name{labels} value`: the format Prometheus parses.
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
    }
}

#[tokio::test]
async fn invented_methods_add_no_metric_series() {
    let pool = fresh_database().await;
    let router = TestApp::new(&pool).build();
    for n in 0..1000 {
        let request = Request::builder().method(format!("X{n}").as_str()).uri("/healthz").body(Body::empty()).unwrap();
        router.clone().oneshot(request).await.unwrap();
    }
    let response = router.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let text = String::from_utf8(axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap().to_vec()).unwrap();
    let methods: std::collections::BTreeSet<&str> =
        text.split("method=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    assert!(methods.contains("other"), "{methods:?}");
    assert!(methods.iter().all(|m| !m.starts_with('X')), "invented methods became labels: {methods:?}");
    assert!(methods.len() <= 8, "{methods:?}");
}

#[tokio::test]
async fn request_ids_are_kept_only_when_they_look_like_ids() {
    let pool = fresh_database().await;
    let router = TestApp::new(&pool).build();
    let id_of = |sent: &str| {
        let request = Request::get("/healthz").header("x-request-id", sent).body(Body::empty()).unwrap();
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned()
        }
    };
    assert_eq!(id_of("lb-7f3a9c.0042").await, "lb-7f3a9c.0042", "a proxy's id is kept");
    for sent in ["x".repeat(65), "<script>alert(1)</script>".into(), "id with spaces".into()] {
        let answered = id_of(&sent).await;
        assert_ne!(answered, sent);
        assert_eq!(answered.len(), 36, "replaced by a UUID: {answered}");
    }
}

#[tokio::test]
async fn metrics_count_the_job_queue_by_kind_and_state() {
    use unthread_server::jobs::queue::{JobSpec, Jobs, Priority};
    let pool = fresh_database().await;
    let jobs = Jobs::new(pool.clone());
    let mut conn = pool.acquire().await.unwrap();
    for label in ["a", "b"] {
        jobs.enqueue(&mut conn, JobSpec::Noop { label: label.into() }, Priority::Background, "test").await.unwrap();
    }
    drop(conn);
    let app = TestApp::new(&pool).build();
    let response = app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains(r#"unthread_queue_jobs{kind="noop",state="pending"} 2"#), "{text}");
}
