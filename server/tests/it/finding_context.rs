//! The lines around a finding: recorded by the scan, stored, shown on its page as they are
//! now (a rescan that reads other lines there rewrites them), and taken from a SARIF log's
//! `contextRegion` within the scanner's bounds.

use crate::support::fresh_database;
use db::{kinds::TargetKind, models, views::FindingFilter};
use scanner::{finding::SourceContext, scan::scan_sources, source::SourceFile, ScanOptions};
use sqlx::PgPool;
use unthread_server::ingest::scan::{ingest, ScanInput};

async fn scan(pool: &PgPool, target: i64, revision: &str, source: &str) {
    let sources =
        vec![SourceFile { path: "shop/state.py".into(), contents: Ok(source.as_bytes().to_vec()), on_disk: None }];
    let report = scan_sources(sources, "shop", &ScanOptions::default());
    ingest(pool, &ScanInput::from_report(target, Some(revision.into()), &report)).await.unwrap();
}

async fn only_finding(pool: &PgPool) -> db::views::FindingDetail {
    let page = models::findings::explore(pool, &FindingFilter::default(), None).await.unwrap();
    assert_eq!(page.rows.len(), 1, "one finding");
    models::findings::detail(pool, page.rows[0].id).await.unwrap().unwrap()
}

fn numbered(lines: usize) -> String {
    (1..=lines).map(|n| format!("x{n} = {n}\n")).collect()
}

#[tokio::test]
async fn a_findings_page_shows_the_lines_around_it_as_the_last_scan_read_them() {
    let pool = fresh_database().await;
    let target = models::targets::upsert(&pool, TargetKind::Library, "openedx/shop").await.unwrap();
    // The thread local on line 11 of 20: lines 6 to 16 are its context.
    let source = format!("import threading\n{}_local = threading.local()\n{}", numbered(9), numbered(9));
    scan(&pool, target, "c1", &source).await;
    let detail = only_finding(&pool).await;
    let context = detail.context.clone().expect("a scan records the context");
    assert_eq!(context.start_line, 6);
    assert_eq!(context.lines.len(), 11);
    assert_eq!(context.lines[5], "_local = threading.local()");
    assert_eq!(context.lines[0], "x5 = 5");

    // Its lines upstream at a version's tag; a version or repository that is not a plain name
    // makes no link.
    use app::pages::finding::upstream_permalink;
    assert_eq!(
        upstream_permalink(&detail, "openedx/shop", "1.2.0").as_deref(),
        Some("https://github.com/openedx/shop/blob/1.2.0/shop/state.py#L11")
    );
    assert_eq!(upstream_permalink(&detail, "openedx/shop", "1.0/../../main"), None);
    assert_eq!(upstream_permalink(&detail, "openedx/../private", "1.0"), None);

    // A line above it changed: the same finding, whose page now shows the new line.
    let edited = source.replace("x8 = 8\n", "x8 = 'eight'\n");
    scan(&pool, target, "c2", &edited).await;
    let after = only_finding(&pool).await;
    assert_eq!(after.row.id, detail.row.id, "the same finding");
    assert!(after.context.unwrap().lines.contains(&"x8 = 'eight'".to_owned()), "the context is the new text");
}

#[tokio::test]
async fn a_sarif_logs_context_region_is_kept_within_the_scanners_bounds() {
    let pool = fresh_database().await;
    let target = models::targets::upsert(&pool, TargetKind::Library, "openedx/shop").await.unwrap();
    let long = "y".repeat(5_000);
    let lines: Vec<String> = (1..=500).map(|n| if n == 3 { long.clone() } else { format!("line {n}") }).collect();
    let log = serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "unthread-scan", "version": "0.2.0"}},
            "results": [{
                "ruleId": "UT001",
                "message": {"text": "thread local"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "shop/state.py"},
                    "region": {"startLine": 6, "startColumn": 1, "endLine": 6, "endColumn": 10, "snippet": {"text": "line 6"}},
                    "contextRegion": {"startLine": 1, "endLine": 500, "snippet": {"text": lines.join("\n")}}
                }}]
            }]
        }]
    });
    let input =
        unthread_server::ingest::sarif::parse(log.to_string().as_bytes(), target, Some("c1".into()), None).unwrap();
    ingest(&pool, &input).await.unwrap();
    let context = only_finding(&pool).await.context.expect("the log's context");
    assert_eq!(context.start_line, 1);
    assert_eq!(context.lines.len(), SourceContext::MAX_LINES, "no more lines than the scanner keeps");
    assert_eq!(context.lines[2].chars().count(), SourceContext::MAX_LINE_CHARS + 1, "a long line is cut, marked …");
    assert!(context.lines[2].ends_with('…'));
}
