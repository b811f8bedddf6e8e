//! Seed data: findings as a scanner reports them, scans of them, users and their sessions.

use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use unthread_server::ingest::scan::{IncomingFinding, ScanInput};

/// In-memory source files `(path, text)` to hand the scanner.
pub fn sources(files: &[(&str, &str)]) -> Vec<scanner::source::SourceFile> {
    files
        .iter()
        .map(|(path, text)| scanner::source::SourceFile {
            path: (*path).into(),
            contents: Ok(text.as_bytes().to_vec()),
            on_disk: None,
        })
        .collect()
}

/// A finding of `rule` at `path`:`line` as a scanner reports it, identified by those three;
/// change the other fields with struct update syntax.
pub fn finding(rule: &str, path: &str, line: i32) -> IncomingFinding {
    IncomingFinding {
        runs_at: None,
        fingerprint: format!("{rule}:{path}:{line}"),
        content_fingerprint: None,
        rule: rule.into(),
        path: path.into(),
        start_line: line,
        start_column: 1,
        end_line: line,
        end_column: 1,
        symbol: None,
        message: String::new(),
        snippet: None,
        conditional: false,
        suppressed: None,
        fix: None,
        context: None,
    }
}

/// A complete scan of `target_id` by the tool `test` that found `findings`.
pub fn scan_input(target_id: i64, findings: Vec<IncomingFinding>) -> ScanInput {
    ScanInput {
        coverage: Default::default(),
        target_id,
        revision: None,
        tool: "test".into(),
        tool_version: None,
        complete: true,
        files_scanned: 1,
        unread_files: vec![],
        findings,
        api_index: None,
        imports: None,
        finished_at: None,
        cause: None,
        scope: None,
        file_hashes: Default::default(),
        calls_out: None,
    }
}

/// Signs in to `app` through the development login (the router must be built with it on) and
/// returns the session cookie (`name=value`) to send with the next requests.
pub async fn sign_in(app: &axum::Router, login: &str, role: &str) -> String {
    let request = Request::post("/auth/dev-login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("login={login}&role={role}")))
        .expect("a valid request");
    let reply = super::send(app, request).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "the development login is on");
    let cookie = reply.header(header::SET_COOKIE).expect("a session cookie");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// A new complete scan of `target_id`, finished now (its findings recorded apart).
pub async fn seed_scan(pool: &PgPool, target_id: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO scans (target_id, tool, status, finished_at) VALUES ($1, 'seed', 'complete', now()) RETURNING id",
    )
    .bind(target_id)
    .fetch_one(pool)
    .await
    .expect("insert a scan")
}

/// Finding `finding` of `target_id` no longer seen: fixed by a new complete scan, returned.
pub async fn seed_fix(pool: &PgPool, target_id: i64, finding: i64) -> i64 {
    let scan = seed_scan(pool, target_id).await;
    sqlx::query("UPDATE findings SET fixed_in_scan = $1 WHERE id = $2")
        .bind(scan)
        .bind(finding)
        .execute(pool)
        .await
        .expect("mark the finding fixed");
    scan
}

/// A finding of `target_id` at `path` (in `symbol`), seen by a new complete scan: for tests
/// about what surrounds findings (links, permissions), not about ingestion.
pub async fn seed_finding(pool: &PgPool, target_id: i64, path: &str, symbol: Option<&str>) -> i64 {
    let scan = seed_scan(pool, target_id).await;
    sqlx::query_scalar(
        "INSERT INTO findings (target_id, fingerprint, rule, path, start_line, end_line, symbol, first_seen_scan, last_seen_scan)
         VALUES ($1, md5(random()::text), 'UT002', $2, 1, 1, $3, $4, $4) RETURNING id",
    )
    .bind(target_id)
    .bind(path)
    .bind(symbol)
    .bind(scan)
    .fetch_one(pool)
    .await
    .expect("insert a finding")
}

/// A user who signed in with the development login, as `role` (`maintainer`, `contributor`).
pub async fn create_user(pool: &PgPool, login: &str, role: &str) -> db::models::users::User {
    let id: i64 = sqlx::query_scalar("INSERT INTO users (login, role, dev_only) VALUES ($1, $2, true) RETURNING id")
        .bind(login)
        .bind(role)
        .fetch_one(pool)
        .await
        .expect("insert a user");
    db::models::users::by_id(pool, id).await.expect("read the user back").expect("the user exists")
}
