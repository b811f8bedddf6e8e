//! Ingesting real scanner output: the life of a finding across rescans of a changing tree.

use crate::support::fresh_database;
use std::path::Path;

use scanner::{scan_path, ScanOptions};
use sqlx::PgPool;
use unthread_server::ingest::scan::{ingest, IngestSummary, ScanInput};

const MODULE: &str = "import threading\n\n_local = threading.local()\n\ndef get():\n    return _local.value\n";

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

async fn scan_and_ingest(pool: &PgPool, target: i64, root: &Path) -> IngestSummary {
    let report = scan_path(root, &ScanOptions::default()).unwrap();
    ingest(pool, &ScanInput::from_report(target, None, &report)).await.unwrap()
}

async fn findings(pool: &PgPool) -> Vec<(i64, String, i32, bool)> {
    sqlx::query_as("SELECT id, path, start_line, fixed_in_scan IS NOT NULL FROM findings ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// How many findings the events of `kind` concern (one per event without a list).
async fn events(pool: &PgPool, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(coalesce(cardinality(finding_ids), 1)), 0)::bigint FROM events WHERE kind = $1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_finding_lives_through_moves_partial_scans_renames_and_its_fix() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-django-utils").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "pkg/state.py", MODULE);

    let first = scan_and_ingest(&pool, target, tree.path()).await;
    assert_eq!((first.new, first.fixed), (1, 0));
    let [(id, _, line, false)] = findings(&pool).await[..] else { panic!("{:?}", findings(&pool).await) };
    assert_eq!(line, 3);

    // Ingesting the same results again changes nothing.
    let again = scan_and_ingest(&pool, target, tree.path()).await;
    assert!(again.already_ingested);
    assert_eq!(again.scan_id, first.scan_id);

    // Lines inserted above: the same finding, moved.
    write(tree.path(), "pkg/state.py", &format!("\"\"\"Docs.\"\"\"\nimport os\n{MODULE}"));
    let moved = scan_and_ingest(&pool, target, tree.path()).await;
    assert_eq!((moved.new, moved.seen, moved.fixed), (0, 1, 0));
    assert_eq!(findings(&pool).await, [(id, "pkg/state.py".into(), 5, false)]);

    // Renamed file: still the same finding.
    std::fs::rename(tree.path().join("pkg/state.py"), tree.path().join("pkg/local_state.py")).unwrap();
    let renamed = scan_and_ingest(&pool, target, tree.path()).await;
    assert_eq!((renamed.new, renamed.renamed, renamed.fixed), (0, 1, 0), "{renamed:?}");
    assert_eq!(findings(&pool).await, [(id, "pkg/local_state.py".into(), 5, false)]);

    // A partial scan (killed midway) that did not see it fixes nothing.
    let partial = ScanInput {
        complete: false,
        findings: Vec::new(),
        ..ScanInput::from_report(target, None, &scan_path(tree.path(), &ScanOptions::default()).unwrap())
    };
    let summary = ingest(&pool, &partial).await.unwrap();
    assert_eq!(summary.fixed, 0);
    assert!(!findings(&pool).await[0].3, "still open");

    // A complete scan that could not read the file fixes nothing in it either.
    let unreadable = ScanInput {
        unread_files: vec![("pkg/local_state.py".into(), "NotUtf8".into())],
        findings: Vec::new(),
        ..ScanInput::from_report(target, None, &scan_path(tree.path(), &ScanOptions::default()).unwrap())
    };
    assert_eq!(ingest(&pool, &unreadable).await.unwrap().fixed, 0);

    // The thread local is gone: fixed by this complete scan.
    write(tree.path(), "pkg/local_state.py", "from contextvars import ContextVar\n_v = ContextVar('v')\n");
    let fixed = scan_and_ingest(&pool, target, tree.path()).await;
    assert_eq!(fixed.fixed, 1);
    let rows = findings(&pool).await;
    assert_eq!(rows[0], (id, "pkg/local_state.py".into(), 5, true));
    assert_eq!(rows.len(), 2, "the ContextVar is a new (informational) finding");

    // Put back: the fixed finding reopens rather than being duplicated.
    write(tree.path(), "pkg/local_state.py", &format!("\"\"\"Docs.\"\"\"\nimport os\n{MODULE}"));
    let reopened = scan_and_ingest(&pool, target, tree.path()).await;
    assert_eq!((reopened.reopened, reopened.new), (1, 0));
    assert!(!findings(&pool).await[0].3);

    for (kind, expected) in [
        ("findings.new", 2),
        ("findings.fixed", 2),
        ("findings.renamed", 1),
        ("findings.reopened", 1),
        ("scan.ingested", 7),
    ] {
        assert_eq!(events(&pool, kind).await, expected, "{kind}");
    }
}

#[tokio::test]
async fn bad_findings_roll_back_the_whole_scan() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Dependency, "django-crum").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "crum/__init__.py", MODULE);
    let mut input =
        ScanInput::from_report(target, Some("0.7.9".into()), &scan_path(tree.path(), &ScanOptions::default()).unwrap());
    let mut evil = input.findings[0].clone();
    evil.fingerprint = "other".into();
    evil.path = "../../etc/passwd".into();
    input.findings.push(evil);
    let err = ingest(&pool, &input).await.unwrap_err();
    assert!(err.to_string().contains("findings_path_check"), "{err}");
    for table in ["scans", "findings", "events"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&pool).await.unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

#[tokio::test]
async fn a_file_past_the_finding_cap_is_unread_and_snippets_are_bounded() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "acme/generated").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "pkg/state.py", MODULE);
    // 2,001 locks on one long line: over the per-file cap.
    let locks: Vec<String> = (0..2001).map(|i| format!("lock_{i:05} = threading.Lock()")).collect();
    write(tree.path(), "pkg/generated.py", &format!("import threading; {}\n", locks.join("; ")));
    write(tree.path(), "pkg/wide.py", &format!("import threading; X = threading.local()  # {}\n", "x".repeat(2000)));
    // The first scan had findings in the generated file; they must stay open.
    write(tree.path(), "pkg/generated.py", "import threading\nlock = threading.Lock()\n");
    scan_and_ingest(&pool, target, tree.path()).await;
    write(tree.path(), "pkg/generated.py", &format!("import threading; {}\n", locks.join("; ")));
    let report = scan_path(tree.path(), &ScanOptions::default()).unwrap();
    let mut input = ScanInput::from_report(target, None, &report);
    // A SARIF log may carry any snippet: the stored one is bounded anyway.
    input.findings.iter_mut().filter(|f| f.path == "pkg/wide.py").for_each(|f| f.snippet = Some("y".repeat(5000)));
    ingest(&pool, &input).await.unwrap();
    let reasons: Vec<(String, String)> =
        sqlx::query_as("SELECT path, reason FROM scan_unread_files WHERE scan_id = (SELECT max(id) FROM scans)")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].0, "pkg/generated.py");
    assert!(reasons[0].1.contains("over the limit of 2000 a file"), "{}", reasons[0].1);
    let generated: Vec<(bool,)> =
        sqlx::query_as("SELECT fixed_in_scan IS NOT NULL FROM findings WHERE path = 'pkg/generated.py'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(generated, [(false,)], "the earlier finding stays open, none added");
    let longest: i32 = sqlx::query_scalar("SELECT max(length(snippet)) FROM findings").fetch_one(&pool).await.unwrap();
    assert!(longest <= 401, "{longest}");
    let state: Vec<(String,)> =
        sqlx::query_as("SELECT path FROM findings WHERE path = 'pkg/state.py'").fetch_all(&pool).await.unwrap();
    assert_eq!(state.len(), 1, "the other files are recorded");
}

/// "Nothing found" never means "not looked at": a scan says what it did not analyse — a file
/// that did not parse whole, one over the size limit, a compiled extension module, an import
/// by a computed name — and the target's page lists them.
#[tokio::test]
async fn a_scan_says_what_it_did_not_analyse() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Dependency, "speedy").await.unwrap();
    let tree = tempfile::tempdir().unwrap();
    write(
        tree.path(),
        "speedy/__init__.py",
        "import importlib\n\ndef load(name):\n    return importlib.import_module(name)\n",
    );
    write(tree.path(), "speedy/broken.py", "import threading\nx = threading.local()\ndef f(:\n");
    write(tree.path(), "speedy/big.py", &"x = 1\n".repeat(40));
    std::fs::write(tree.path().join("speedy/_speedups.cpython-312-x86_64-linux-gnu.so"), b"\x7fELF\x02").unwrap();
    let options = ScanOptions {
        sources: scanner::source::SourceOptions { max_file_size: 200, ..Default::default() },
        ..Default::default()
    };
    let report = scan_path(tree.path(), &options).unwrap();
    ingest(&pool, &ScanInput::from_report(target, None, &report)).await.unwrap();

    let detail = db::models::targets::detail(&pool, "speedy").await.unwrap().expect("the target");
    let unread: Vec<(&str, &str)> = detail.unread_files.iter().map(|(p, r)| (p.as_str(), r.as_str())).collect();
    assert_eq!(
        unread,
        [
            (
                "speedy/_speedups.cpython-312-x86_64-linux-gnu.so",
                "not analysed: a compiled extension module, no Python source to read"
            ),
            ("speedy/big.py", "not scanned: 240 bytes is over the size limit"),
        ]
    );
    let coverage = detail.coverage.expect("the scan says what it covered");
    assert_eq!((coverage.partially_parsed, coverage.partially_parsed_count), (vec!["speedy/broken.py".to_owned()], 1));
    assert_eq!(
        (coverage.computed_imports, coverage.computed_imports_count),
        (vec![("speedy/__init__.py".to_owned(), 4)], 1)
    );
}

/// A finding the scanner stops reporting while its file is unchanged went with a change of
/// the rules (a precision fix), not of the code: it is triaged a false positive by the
/// system, with the reason, and counts nowhere as fixed. Gone from an edited file, it is fixed.
#[tokio::test]
async fn a_finding_dropped_by_a_rule_change_is_not_fixed() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/shop").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shop/state.py", MODULE);
    write(dir.path(), "shop/other.py", MODULE);
    let first = scan_path(dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(first.findings.len(), 2);
    ingest(&pool, &ScanInput::from_report(target, Some("c1".into()), &first)).await.unwrap();

    // The same tree, scanned by rules that no longer report state.py's (simulated by leaving
    // its finding out), and other.py edited so that its finding is gone for real.
    write(dir.path(), "shop/other.py", "import contextvars\n\n_local = contextvars.ContextVar('value')\n");
    let mut second = scan_path(dir.path(), &ScanOptions::default()).unwrap();
    second.findings.retain(|f| f.path != "shop/state.py" && f.rule != "UT100");
    let summary = ingest(&pool, &ScanInput::from_report(target, Some("c2".into()), &second)).await.unwrap();
    assert_eq!(summary.fixed, 1, "only the edited file's finding is fixed");
    let rows: Vec<(String, bool, String, Option<String>)> = sqlx::query_as(
        "SELECT path, fixed_in_scan IS NOT NULL, triage::text, triage_reason FROM findings WHERE rule = 'UT001' ORDER BY path",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("shop/other.py".to_owned(), true, "open".to_owned(), None),
            (
                "shop/state.py".to_owned(),
                false,
                "false_positive".to_owned(),
                Some("no longer reported by the scanner in unchanged code: its rules changed".to_owned())
            ),
        ]
    );
    let triaged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'finding.triaged' AND actor IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(triaged, 1, "one system triage, in the audit log");
}
