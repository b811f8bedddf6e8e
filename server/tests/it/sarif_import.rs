//! SARIF import: Unthread's own SARIF round-trips to the same findings as an in-process scan;
//! ruff's SARIF (absolute URIs, no fingerprints) and Semgrep's (plain absolute paths) import
//! with stable identities; malformed or hostile logs are refused before anything is written.

use crate::support::fresh_database;
use std::path::Path;

use scanner::{output, scan_path, ScanOptions};
use sqlx::PgPool;
use unthread_server::ingest::{
    sarif::{parse, SarifError},
    scan::ingest,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif").join(name)).unwrap()
}

async fn fingerprints(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT fingerprint FROM findings ORDER BY fingerprint").fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn own_sarif_round_trips() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/fixtures").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    let epic = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/fixtures/epic/eventtracking/aggregator.py");
    std::fs::copy(epic, tree.path().join("aggregator.py")).unwrap();
    std::fs::write(tree.path().join("latin1.py"), b"x = '\xe9'\n").unwrap();
    let report = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    let sarif = serde_json::to_vec(&output::sarif(&report)).unwrap();

    let input = parse(&sarif, target, Some("abc123".into()), None).unwrap();
    assert_eq!(input.tool, "unthread-scan");
    assert_eq!(input.unread_files.len(), 1);
    assert_eq!(input.unread_files[0].0, "latin1.py");
    let summary = ingest(&pool, &input).await.unwrap();
    assert_eq!(summary.new, report.findings.len() as i64);
    let mut expected: Vec<String> = report.findings.iter().map(|f| f.fingerprint.clone()).collect();
    expected.sort();
    assert_eq!(fingerprints(&pool).await, expected, "SARIF carries the scanner's own fingerprints");
    let symbol: String =
        sqlx::query_scalar("SELECT symbol FROM findings WHERE rule = 'UT004'").fetch_one(&pool).await.unwrap();
    assert_eq!(symbol, "aggregator.EventAggregator.flush");
}

#[tokio::test]
async fn ruff_sarif_imports_with_stable_identities() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/ruff-sample").await.unwrap();
    let sarif = fixture("ruff-0.17.6-async.sarif");
    let input = parse(&sarif, target, None, Some("/tmp/ruffsample")).unwrap();
    assert_eq!((input.tool.as_str(), input.tool_version.as_deref()), ("ruff", Some("0.17.6")));
    let rows: Vec<(&str, &str, i32)> =
        input.findings.iter().map(|f| (f.rule.as_str(), f.path.as_str(), f.start_line)).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|(rule, path, _)| rule.starts_with("ASYNC") && *path == "pkg/views.py"), "{rows:?}");
    assert_eq!(ingest(&pool, &input).await.unwrap().new, 3);

    // Two lines inserted at the top: ruff reports new line numbers, the findings stay the same.
    let mut log: serde_json::Value = serde_json::from_slice(&sarif).unwrap();
    for result in log["runs"][0]["results"].as_array_mut().unwrap() {
        let region = &mut result["locations"][0]["physicalLocation"]["region"];
        for key in ["startLine", "endLine"] {
            region[key] = (region[key].as_i64().unwrap() + 2).into();
        }
    }
    let moved = parse(&serde_json::to_vec(&log).unwrap(), target, None, Some("/tmp/ruffsample")).unwrap();
    let summary = ingest(&pool, &moved).await.unwrap();
    assert_eq!((summary.new, summary.seen, summary.fixed), (0, 3, 0));
}

#[tokio::test]
async fn malformed_and_hostile_logs_are_refused() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/x").await.unwrap();
    let valid: serde_json::Value = serde_json::from_slice(&fixture("ruff-0.17.6-async.sarif")).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut log = valid.clone();
        edit(&mut log);
        serde_json::to_vec(&log).unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "not a SARIF log"),
        (with(&|l| l["version"] = "2.0.0".into()), "not supported"),
        (with(&|l| l["runs"] = serde_json::json!([])), "no run"),
        (
            with(&|l| {
                l["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
                    "../../etc/passwd".into()
            }),
            "leaves the scan root",
        ),
        (
            with(&|l| {
                l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
                    "file:///etc/passwd".into()
            }),
            "outside the scan root",
        ),
        (with(&|l| l["runs"][0]["results"][2]["ruleId"] = "<script>".into()), "ruleId"),
        (
            with(&|l| l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0.into()),
            "startLine",
        ),
    ];
    for (bytes, expected) in cases {
        let err: SarifError = match parse(&bytes, target, None, Some("/tmp/ruffsample")) {
            Err(err) => err,
            Ok(_) => panic!("accepted a log that should fail with {expected:?}"),
        };
        assert!(err.to_string().contains(expected), "{err} (expected {expected:?})");
    }
    assert!(fingerprints(&pool).await.is_empty());
    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await.unwrap();
    assert_eq!(scans, 0);
}

#[tokio::test]
async fn semgrep_sarif_with_absolute_paths_imports_under_its_root() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/semgrep-sample").await.unwrap();
    let sarif = fixture("semgrep-1.185.0-absolute.sarif");
    // Plain absolute paths (`/tmp/semgrepsample/crum/__init__.py`): inside the root, relative.
    let input = parse(&sarif, target, None, Some("/tmp/semgrepsample")).unwrap();
    assert_eq!(input.tool, "Semgrep OSS");
    let mut rows: Vec<(&str, &str)> = input.findings.iter().map(|f| (f.rule.as_str(), f.path.as_str())).collect();
    rows.sort();
    assert_eq!(rows, [("thread-local", "crum/__init__.py"), ("thread-lock", "eventtracking/aggregator.py")]);
    assert_eq!(ingest(&pool, &input).await.unwrap().new, 2);
    // Without the root, or with another one, they cannot be placed: refused, nothing written.
    for root in [None, Some("/tmp/other")] {
        assert!(matches!(parse(&sarif, target, None, root), Err(SarifError::Result { .. })), "{root:?}");
    }
}

/// Triage, reason and flag of the finding of `rule` in `path`.
async fn triage_of(pool: &PgPool, rule: &str) -> (String, Option<String>, bool) {
    sqlx::query_as("SELECT triage, triage_reason, triaged_in_source FROM findings WHERE rule = $1")
        .bind(rule)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn suppressed_results_are_triaged_wont_fix_with_their_reason_until_the_comment_goes() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/suppressing").await.unwrap();
    let mona = crate::support::create_user(&pool, "mona", "maintainer").await;
    let tree = tempfile::tempdir().unwrap();
    // Scans the tree as `unthread-scan --format sarif` would write it, and imports the log.
    let scan_and_import = |source: &'static str, revision: &'static str| {
        let (pool, path) = (pool.clone(), tree.path().to_owned());
        async move {
            std::fs::write(path.join("state.py"), source).unwrap();
            let report = scan_path(&path, &ScanOptions::default()).unwrap();
            let sarif = serde_json::to_vec(&output::sarif(&report)).unwrap();
            ingest(&pool, &parse(&sarif, target, Some(revision.into()), None).unwrap()).await.unwrap()
        }
    };
    let plain = "import threading\n_state = threading.local()\n_lock = threading.Lock()\n_event = threading.Event()\n";
    assert_eq!(scan_and_import(plain, "r1").await.new, 3);
    let event_id: i64 = sqlx::query_scalar("SELECT id FROM findings WHERE rule = 'UT003' AND snippet LIKE '%Event%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    db::models::triage::set(&pool, &mona, event_id, db::kinds::Triage::Confirmed, None).await.unwrap();

    let commented = "import threading\n_state = threading.local()  # unthread: ignore[UT001] -- one per process, set at import\n_lock = threading.Lock()  # noqa: UT003\n_event = threading.Event()  # noqa: UT003\n";
    let summary = scan_and_import(commented, "r2").await;
    assert_eq!((summary.new, summary.fixed), (0, 0), "a comment changes no finding's identity");
    assert_eq!(
        triage_of(&pool, "UT001").await,
        ("wont_fix".into(), Some("one per process, set at import".into()), true)
    );
    let lock: (String, Option<String>, bool) =
        sqlx::query_as("SELECT triage, triage_reason, triaged_in_source FROM findings WHERE snippet LIKE '%Lock()%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(lock, ("wont_fix".into(), Some("suppressed in the source by `# noqa` on line 3".into()), true));
    let event: (String, bool) = sqlx::query_as("SELECT triage, triaged_in_source FROM findings WHERE id = $1")
        .bind(event_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(event, ("confirmed".into(), false), "a maintainer's triage wins over a comment");
    let events: Vec<(Option<String>, serde_json::Value)> =
        sqlx::query_as("SELECT actor, data FROM events WHERE kind = 'finding.triaged' AND actor IS NULL ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].1["to"], "wont_fix");

    // The same log again changes nothing; the comment removed opens the finding again.
    assert!(scan_and_import(commented, "r2").await.already_ingested);
    let uncommented_state = commented.replace("  # unthread: ignore[UT001] -- one per process, set at import", "");
    scan_and_import(Box::leak(uncommented_state.into_boxed_str()), "r3").await;
    assert_eq!(triage_of(&pool, "UT001").await, ("open".into(), None, false));
    let lock_state: String =
        sqlx::query_scalar("SELECT triage FROM findings WHERE snippet LIKE '%Lock()%'").fetch_one(&pool).await.unwrap();
    assert_eq!(lock_state, "wont_fix");
}

#[tokio::test]
async fn the_baseline_export_holds_every_known_finding_for_unthread_scan() {
    use crate::support::{http::get, send, TestApp};
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/baselined").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("state.py"),
        "import threading\n_state = threading.local()\n_lock = threading.Lock()  # noqa: UT003\n",
    )
    .unwrap();
    let report = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    let sarif = serde_json::to_vec(&output::sarif(&report)).unwrap();
    ingest(&pool, &parse(&sarif, target, None, None).unwrap()).await.unwrap();

    let app = TestApp::new(&pool).build();
    let reply = send(&app, get("/api/v1/baseline?target=openedx/baselined", None)).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/sarif+json"));
    let body = reply.body;
    let baseline = scanner::baseline::Baseline::from_sarif(&body).unwrap();
    let all: Vec<&scanner::Finding> = report.findings.iter().collect();
    assert!(baseline.known(&all).into_iter().all(|known| known), "every finding is known");
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["suppressions"][0]["justification"], "suppressed in the source by `# noqa` on line 3");

    // A finding the scan of a changed tree has that Unthread does not know is new.
    std::fs::write(tree.path().join("more.py"), "import threading\n_event = threading.Event()\n").unwrap();
    let changed = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    let gate = scanner::gate::Gate { baseline: Some(baseline), changed: None };
    let reported: Vec<&str> = gate.sort(&changed).reported.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(reported, ["more.py"]);

    assert_eq!(
        send(&app, get("/api/v1/baseline?target=nobody/nothing", None)).await.status,
        axum::http::StatusCode::NOT_FOUND
    );

    // Written page by page: 4,500 findings (three pages) make one valid log with all of them.
    let many = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/many").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    for file in 0..3 {
        let text: String = (0..1500).map(|i| format!("state_{i} = threading.local()\n")).collect();
        std::fs::write(tree.path().join(format!("locals_{file}.py")), format!("import threading\n{text}")).unwrap();
    }
    let report = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    assert_eq!(report.findings.len(), 4500);
    ingest(&pool, &db::ingest::ScanInput::from_report(many, None, &report)).await.unwrap();
    let body = send(&app, get("/api/v1/baseline?target=openedx/many", None)).await.body;
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 4500);
    let baseline = scanner::baseline::Baseline::from_sarif(&body).unwrap();
    let all: Vec<&scanner::Finding> = report.findings.iter().collect();
    assert!(baseline.known(&all).into_iter().all(|known| known));
}

/// A finding's fix travels with it: an in-process scan and the SARIF import store the same
/// fix (message, safety, edits), and the finding page shows it as a diff with its safety.
#[tokio::test]
async fn fixes_are_stored_from_scans_and_sarif_and_shown_on_the_finding_page() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/fixable").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("state.py"),
        "import threading\nimport django\n_state = threading.local()\n_state.user = django.VERSION\n",
    )
    .unwrap();
    let report = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    let sarif = serde_json::to_vec(&output::sarif(&report)).unwrap();
    let from_sarif = parse(&sarif, target, Some("abc123".into()), None).unwrap();
    let in_process = db::ingest::ScanInput::from_report(target, Some("abc123".into()), &report);
    let fix_of = |input: &db::ingest::ScanInput| {
        input.findings.iter().find(|f| f.rule == "UT001").and_then(|f| f.fix.clone()).map(|fix| fix.0)
    };
    let fix = fix_of(&in_process).expect("UT001 has a fix");
    assert_eq!(fix_of(&from_sarif), Some(fix.clone()), "SARIF keeps the fix as the scan made it");
    assert_eq!(fix.applicability, "safe");
    ingest(&pool, &from_sarif).await.unwrap();

    let id: i64 = sqlx::query_scalar("SELECT id FROM findings WHERE rule = 'UT001'").fetch_one(&pool).await.unwrap();
    let detail = db::models::findings::detail(&pool, id).await.unwrap().unwrap();
    assert_eq!(detail.fix, Some(fix));
    let app = crate::support::TestApp::new(&pool).build();
    let page = crate::support::send(&app, crate::support::http::get(&format!("/findings/{id}"), None)).await.body;
    assert!(page.contains("data-testid=\"fix\""), "{page}");
    assert!(page.contains("- _state = threading.local()") && page.contains("+ _state = Local()"), "{page}");
    assert!(page.contains("+ from asgiref.local import Local"), "{page}");
    assert!(page.contains(">safe<"), "{page}");
}
