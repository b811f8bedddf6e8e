//! Bad input gets a clear error and changes nothing: oversized and malformed scan uploads,
//! SARIF paths escaping the scan root, and a checkout holding a 50 MB Python file and a file
//! that is not UTF-8 (recorded as unread with the reason; the rest is scanned); and client
//! mistakes in pages, server functions and the API answered 4xx with a reason.

use crate::support::{fresh_database, http::get, send, sign_in, TestApp};
use axum::{
    body::Body,
    http::{header, Request},
};
use tower::ServiceExt;

async fn counts(pool: &sqlx::PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM scans), (SELECT count(*) FROM findings), (SELECT count(*) FROM events)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn sarif(uri: &str) -> Vec<u8> {
    serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "unthread-scan" } },
            "results": [{
                "ruleId": "UT001",
                "message": { "text": "thread local" },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": uri },
                    "region": { "startLine": 1 }
                } }]
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_reason_and_write_nothing() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let maintainer: i64 =
        sqlx::query_scalar("INSERT INTO users (login, role) VALUES ('mona', 'maintainer') RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (_, token) =
        unthread_server::auth::tokens::create(&pool, "ci", &["openedx/edx-ace".into()], maintainer).await.unwrap();
    let router = TestApp::new(&pool).build();
    let upload = |body: Vec<u8>| {
        let router = router.clone();
        let request = Request::post("/api/v1/scans?target=openedx/edx-ace&root=/work/checkout")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/sarif+json")
            .body(Body::from(body))
            .unwrap();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let before = counts(&pool).await;
    let oversized = vec![b' '; unthread_server::handlers::api::MAX_UPLOAD_BYTES + 1];
    let mut wrong_version = serde_json::from_slice::<serde_json::Value>(&sarif("a.py")).unwrap();
    wrong_version["version"] = "2.0.0".into();
    for (body, status, says) in [
        (oversized, 413, ""),
        (b"{ not json".to_vec(), 400, "not a SARIF log"),
        (vec![0xff, 0xfe, 0x00], 400, "not a SARIF log"),
        (serde_json::to_vec(&wrong_version).unwrap(), 400, "2.0.0"),
        (sarif("../../etc/passwd"), 400, "scan root"),
        (sarif("file:///etc/passwd"), 400, "scan root"),
        (sarif("lib/../../../etc/passwd"), 400, "scan root"),
    ] {
        let (actual, message) = upload(body).await;
        assert_eq!(actual, status, "{message}");
        assert!(message.contains(says), "a reason: {message}");
        assert_eq!(counts(&pool).await, before, "nothing written ({message})");
    }
    let (status, message) = upload(sarif("edx_ace/channel.py")).await;
    assert_eq!(status, 201, "{message}");
    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans WHERE target_id = $1")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(scans, 1);
}

#[tokio::test]
async fn a_checkout_with_a_huge_and_an_undecodable_file_is_scanned_around_them() {
    let pool = fresh_database().await;
    let url = crate::support::database_url(&pool);
    let checkout = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let package = checkout.path().join("pkg");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("state.py"), "import threading\n\n_local = threading.local()\n").unwrap();
    // 50 MB of Python (over the default 5 MiB limit) and a Latin-1 file.
    let line = "import threading\nx = threading.local()\n";
    std::fs::write(package.join("huge.py"), line.repeat(50 * 1024 * 1024 / line.len())).unwrap();
    std::fs::write(package.join("latin.py"), b"import threading\nname = '\xe9t\xe9'\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_unthread"))
        .args(["--database-url", &url, "--data-dir"])
        .arg(data_dir.path())
        .arg("scan")
        .arg(checkout.path())
        .args(["--target", "openedx/big-files", "--revision", "abc"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let findings: Vec<String> =
        sqlx::query_scalar("SELECT path FROM findings ORDER BY path").fetch_all(&pool).await.unwrap();
    assert_eq!(findings, ["pkg/state.py"]);
    let unread: Vec<(String, String)> =
        sqlx::query_as("SELECT path, reason FROM scan_unread_files ORDER BY path").fetch_all(&pool).await.unwrap();
    assert_eq!(unread.len(), 2, "{unread:?}");
    assert_eq!(unread[0].0, "pkg/huge.py");
    assert!(unread[0].1.contains("bytes is over the size limit"), "{unread:?}");
    assert_eq!(unread[1], ("pkg/latin.py".to_owned(), "not scanned: not valid UTF-8".to_owned()));
    // The run finished; the files it could not read are listed, so their findings (none
    // yet here) would be left as they were rather than marked fixed.
    let (status, failed): (String, i32) =
        sqlx::query_as("SELECT status, files_failed FROM scans").fetch_one(&pool).await.unwrap();
    assert_eq!((status.as_str(), failed), ("complete", 2));
    // Nothing was written into the checkout.
    let mut entries: Vec<String> =
        std::fs::read_dir(&package).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    assert_eq!(entries, ["huge.py", "latin.py", "state.py"]);
}

#[tokio::test]
async fn client_mistakes_are_4xx_with_a_reason_never_server_errors() {
    let pool = fresh_database().await;
    // Written before the server starts: a write here announces nothing (no event), and the
    // server's read cache, the findings' texts among it, follows announced changes.
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "acme/wild").await.unwrap();
    crate::support::seed_finding(&pool, target, "pkg/plain.py", Some("Plain")).await;
    let app = TestApp::new(&pool).dev_login().build();
    let cookie = sign_in(&app, "ana", "maintainer").await;
    let pages = ["/findings?q=%00", "/people/a%00b", "/findings?owner=%00", "/repos/a/b%00", "/findings?q=%FF"];
    for uri in pages {
        let reply = send(&app, get(uri, None)).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.body);
        assert!(reply.body.contains("NUL byte or invalid UTF-8"), "{uri}: {}", reply.body);
    }
    // A search text past 200 characters is refused with the reason (it cost seconds a query).
    let long = format!("/findings?q={}", "a".repeat(201));
    let reply = send(&app, get(&long, None)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("the search text is 201 characters: search with at most 200"), "{}", reply.body);
    // LIKE's wildcards are searched for as themselves.
    for q in ["%25", "_", "pkg%25plain", "p_g"] {
        let reply = send(&app, get(&format!("/findings?q={q}&state=all"), None)).await;
        assert_eq!(reply.status, 200, "{q}");
        assert!(!reply.body.contains("pkg/plain.py"), "{q} matched as a wildcard");
    }
    let reply = send(&app, get("/findings?q=kg/pla&state=all", None)).await;
    assert!(reply.body.contains("pkg/plain.py"), "a substring of the path finds it");
    let post = |uri: &str, content_type: &str, body: Vec<u8>| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("/api/findings", form, b"filter[text]=%00".to_vec(), 400),
        ("/api/findings", form, b"filter[text]=\xff".to_vec(), 400),
        ("/api/findings", form, b"nonsense".to_vec(), 400),
        ("/api/findings", "application/json", br#"{"filter": {}}"#.to_vec(), 400),
        ("/api/findings", form, [&b"filter[text]="[..], &vec![b'a'; 3 << 20]].concat(), 413),
        ("/api/triage", form, b"id=1&state=open&reason=%00".to_vec(), 400),
        ("/api/v1/tokens", "application/json", br#"{"name": "ci\u0000", "targets": ["x"]}"#.to_vec(), 400),
    ];
    for (uri, content_type, body, expected) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let reply = send(&app, post(uri, content_type, body)).await;
        assert_eq!(reply.status.as_u16(), expected, "{uri} {shown}: {}", reply.body);
        assert!(
            reply.json()["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{uri} {shown}: a reason: {}",
            reply.body
        );
        assert!(!reply.body.to_lowercase().contains("postgres"), "{uri}: {}", reply.body);
    }
}

#[tokio::test]
async fn commands_say_what_a_target_name_must_look_like() {
    let pool = fresh_database().await;
    let url = crate::support::database_url(&pool);
    let data_dir = tempfile::tempdir().unwrap();
    let sarif_file = data_dir.path().join("scan.sarif");
    std::fs::write(&sarif_file, sarif("file:///work/checkout/pkg/a.py")).unwrap();
    for (kind, target, expected) in [
        ("library", "edx-ace", "owner/name"),
        ("platform", "a/b/c", "owner/name"),
        ("dependency", "openedx/edx-ace", "PyPI name"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_unthread"))
            .args(["--database-url", &url, "--data-dir"])
            .arg(data_dir.path())
            .arg("import-sarif")
            .arg(&sarif_file)
            .args(["--target", target, "--kind", kind, "--root", "/work/checkout"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{kind} {target}");
        assert!(stderr.contains(expected), "{kind} {target}: {stderr}");
        assert!(!stderr.contains("constraint") && !stderr.contains("violates"), "no database text: {stderr}");
    }
    assert_eq!(counts(&pool).await, (0, 0, 0), "nothing was written");
}
