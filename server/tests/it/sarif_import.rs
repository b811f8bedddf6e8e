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
