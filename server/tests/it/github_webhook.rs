//! `POST /webhooks/github` with GitHub's real webhook payloads (../shared/fixtures/github):
//! signatures checked before anything is written, replays are no-ops, and issue / pull
//! request events update the tables the sync writes.

use crate::support::github::fixture;
use crate::support::{fresh_database, seed_finding, TestApp};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &str = "webhook secret for tests";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={digest}")
}

/// Posts `body` as delivery `delivery` of `event`, signed with `signature`.
async fn deliver(
    pool: &PgPool,
    event: &str,
    delivery: &str,
    body: &[u8],
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let app = TestApp::new(pool).with(|s| s.webhook_secret = Some(SECRET.into())).build();
    let mut request = Request::post("/webhooks/github")
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/044aadd")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = app.oneshot(request.body(Body::from(body.to_vec())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn signatures_are_checked_before_anything_is_written() {
    let pool = fresh_database().await;
    let body = serde_json::to_vec(&fixture("webhook.issues.opened.json")).unwrap();
    let signature = sign(&body);

    let (status, _) = deliver(&pool, "issues", "d-1", &body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "missing signature");
    let mut tampered = body.clone();
    let at = tampered.iter().position(|&b| b == b'S').unwrap();
    tampered[at] = b's';
    let (status, _) = deliver(&pool, "issues", "d-1", &tampered, Some(&signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "one byte changed");
    let (status, _) = deliver(&pool, "issues", "d-1", &body, Some("sha256=0000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "malformed signature");
    for table in ["gh_deliveries", "gh_issues", "events"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }

    let (status, reply) = deliver(&pool, "issues", "d-1", &body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let issue: (String, i32, String, Vec<String>) =
        sqlx::query_as("SELECT repository, number, state, assignees FROM gh_issues").fetch_one(&pool).await.unwrap();
    assert_eq!(issue, ("Codertocat/Hello-World".into(), 1, "open".into(), vec!["Codertocat".to_owned()]));

    // A replayed delivery (same X-GitHub-Delivery) changes nothing.
    let events = count(&pool, "events").await;
    let (status, reply) = deliver(&pool, "issues", "d-1", &body, Some(&signature)).await;
    assert_eq!((status, reply["status"].as_str()), (StatusCode::OK, Some("already processed")));
    assert_eq!(count(&pool, "events").await, events);
    assert_eq!(count(&pool, "gh_deliveries").await, 1);
}

#[tokio::test]
async fn ping_and_unused_events() {
    let pool = fresh_database().await;
    let body = serde_json::to_vec(&fixture("webhook.ping.json")).unwrap();
    let (status, _) = deliver(&pool, "ping", "p-1", &body, Some(&sign(&body))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = deliver(&pool, "star", "s-1", b"{}", Some(&sign(b"{}"))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Signed but not an issue: rejected, nothing written (not even the delivery).
    let (status, reply) = deliver(&pool, "issues", "bad-1", b"{\"issue\": 3}", Some(&sign(b"{\"issue\": 3}"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let bad: i64 = sqlx::query_scalar("SELECT count(*) FROM gh_deliveries WHERE delivery_id = 'bad-1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bad, 0);
}

#[tokio::test]
async fn a_merged_pull_request_closes_its_linked_issue() {
    let pool = fresh_database().await;
    // The pull request and its issue arrive as opened.
    let opened = fixture("webhook.pull_request.opened.json");
    let body = serde_json::to_vec(&opened).unwrap();
    assert_eq!(deliver(&pool, "pull_request", "pr-1", &body, Some(&sign(&body))).await.0, StatusCode::OK);
    let issue_opened = fixture("webhook.issues.opened.json");
    let body = serde_json::to_vec(&issue_opened).unwrap();
    assert_eq!(deliver(&pool, "issues", "is-1", &body, Some(&sign(&body))).await.0, StatusCode::OK);

    // A maintainer links both to a finding of the repository.
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "Codertocat/Hello-World").await.unwrap();
    let finding = seed_finding(&pool, target, "README.md", None).await;
    sqlx::query(
        "INSERT INTO links (finding_id, issue_id, how, created_by) SELECT $1, id, 'manual', 'maintainer' FROM gh_issues;
         ",
    )
    .bind(finding)
    .execute(&pool)
    .await
    .unwrap();

    // No `pull_request.closed` with `merged: true` exists in the fixture sources: derived from
    // the real `closed` payload by setting the fields a merge sets (merged, merged_at,
    // merged_by, updated_at).
    let mut merged = fixture("webhook.pull_request.closed.json");
    let closed_at = merged["pull_request"]["closed_at"].clone();
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["merged_at"] = closed_at.clone();
    merged["pull_request"]["merged_by"] = merged["sender"].clone();
    let body = serde_json::to_vec(&merged).unwrap();
    assert_eq!(deliver(&pool, "pull_request", "pr-2", &body, Some(&sign(&body))).await.0, StatusCode::OK);
    // No `issues.closed` example exists either: derived from `issues.opened` by the fields
    // closing changes (action, state, state_reason, closed_at, updated_at).
    let mut closed = issue_opened.clone();
    closed["action"] = json!("closed");
    closed["issue"]["state"] = json!("closed");
    closed["issue"]["state_reason"] = json!("completed");
    closed["issue"]["closed_at"] = closed_at.clone();
    closed["issue"]["updated_at"] = closed_at;
    let body = serde_json::to_vec(&closed).unwrap();
    assert_eq!(deliver(&pool, "issues", "is-2", &body, Some(&sign(&body))).await.0, StatusCode::OK);

    let pull: (i32, String, bool) =
        sqlx::query_as("SELECT number, state, merged FROM gh_pulls").fetch_one(&pool).await.unwrap();
    assert_eq!(pull, (2, "closed".into(), true));
    let linked: (String, Option<String>) = sqlx::query_as(
        "SELECT i.state, i.state_reason FROM links l JOIN gh_issues i ON i.id = l.issue_id WHERE l.finding_id = $1",
    )
    .bind(finding)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(linked, ("closed".into(), Some("completed".into())));

    // The earlier `opened` delivery, redelivered late under a new id, does not undo it.
    let body = serde_json::to_vec(&opened).unwrap();
    assert_eq!(deliver(&pool, "pull_request", "pr-1-late", &body, Some(&sign(&body))).await.0, StatusCode::OK);
    let merged: bool = sqlx::query_scalar("SELECT merged FROM gh_pulls").fetch_one(&pool).await.unwrap();
    assert!(merged);
}

/// A body that never ends: a handler that reads it before refusing never answers.
fn endless_body() -> axum::body::Body {
    let chunk = axum::body::Bytes::from_static(&[b'{'; 64 * 1024]);
    axum::body::Body::from_stream(futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone())))
}

#[tokio::test]
async fn anonymous_deliveries_are_refused_before_their_body_is_read() {
    let pool = fresh_database().await;
    let configured = TestApp::new(&pool).with(|s| s.webhook_secret = Some(SECRET.into())).build();
    let unconfigured = TestApp::new(&pool).build();
    let cases = [
        (&unconfigured, Some(sign(b"{}")), StatusCode::SERVICE_UNAVAILABLE),
        (&configured, None, StatusCode::UNAUTHORIZED),
        (&configured, Some("sha256=nothex".to_owned()), StatusCode::UNAUTHORIZED),
        (&configured, Some(format!("sha256={}", "0".repeat(4096))), StatusCode::UNAUTHORIZED),
    ];
    for (app, signature, expected) in cases {
        let mut request = Request::post("/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", "d-endless");
        if let Some(signature) = &signature {
            request = request.header("x-hub-signature-256", signature.as_str());
        }
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.clone().oneshot(request.body(endless_body()).unwrap()),
        )
        .await
        .expect("answered without reading the endless body")
        .unwrap();
        assert_eq!(answer.status(), expected, "{signature:?}");
    }
    assert_eq!(count(&pool, "gh_deliveries").await, 0);
}

#[tokio::test]
async fn an_issue_recreated_under_a_new_id_takes_its_place_and_keeps_its_links() {
    let pool = fresh_database().await;
    let opened = fixture("webhook.issues.opened.json");
    let body = serde_json::to_vec(&opened).unwrap();
    assert_eq!(deliver(&pool, "issues", "first", &body, Some(&sign(&body))).await.0, StatusCode::OK);
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "Codertocat/Hello-World").await.unwrap();
    let finding = seed_finding(&pool, target, "README.md", None).await;
    sqlx::query("INSERT INTO links (finding_id, issue_id, how, created_by) SELECT $1, id, 'manual', 'maintainer' FROM gh_issues")
        .bind(finding)
        .execute(&pool)
        .await
        .unwrap();
    // The same repository and number, another id (deleted and recreated), a later update.
    let mut recreated = opened.clone();
    let new_id = opened["issue"]["id"].as_i64().unwrap() + 1000;
    recreated["issue"]["id"] = json!(new_id);
    recreated["issue"]["title"] = json!("Spelling error in the README file (recreated)");
    recreated["issue"]["updated_at"] = json!("2030-01-01T00:00:00Z");
    let body = serde_json::to_vec(&recreated).unwrap();
    let (status, reply) = deliver(&pool, "issues", "second", &body, Some(&sign(&body))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, title FROM gh_issues").fetch_all(&pool).await.unwrap();
    assert_eq!(rows, [(new_id, "Spelling error in the README file (recreated)".to_owned())]);
    let linked: Vec<(Option<i64>,)> = sqlx::query_as("SELECT issue_id FROM links").fetch_all(&pool).await.unwrap();
    assert_eq!(linked, [(Some(new_id),)], "the link follows the issue");

    // A constraint the data breaks otherwise is a 4xx, never "database unavailable".
    let mut broken = opened.clone();
    broken["issue"]["id"] = json!(new_id + 1);
    broken["issue"]["number"] = json!(-5);
    let body = serde_json::to_vec(&broken).unwrap();
    let (status, reply) = deliver(&pool, "issues", "third", &body, Some(&sign(&body))).await;
    assert!(status.is_client_error(), "{status} {reply}");
}
