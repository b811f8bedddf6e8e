//! A scan that read only some files of its target: it speaks for those files only, and every
//! page showing the target's progress says what was read — the demo's openedx-platform, of
//! which only the files the epic's items point at are scanned.

use crate::support::{finding, fresh_database, http::get, scan_input, send, TestApp};
use db::ingest::{ingest, ScanScope};
use db::kinds::TargetKind;
use db::models::{epic, targets};

#[tokio::test]
async fn a_scan_of_some_files_leaves_the_others_findings_alone() {
    let pool = fresh_database().await;
    let target = targets::upsert(&pool, TargetKind::Library, "openedx/some-files").await.unwrap();
    let whole = scan_input(target, vec![finding("UT001", "a.py", 3), finding("UT001", "b.py", 5)]);
    ingest(&pool, &whole).await.unwrap();

    // a.py read again without its finding; b.py not read at all.
    let some = db::ingest::ScanInput {
        revision: Some("c2".into()),
        files_scanned: 1,
        scope: Some(ScanScope { paths: vec!["a.py".into()], why: "the files an item points at".into() }),
        file_hashes: Default::default(),
        calls_out: None,
        ..scan_input(target, vec![])
    };
    let summary = ingest(&pool, &some).await.unwrap();
    assert_eq!(summary.fixed, 1, "a.py's finding is gone from a.py");
    let open: Vec<String> =
        sqlx::query_scalar("SELECT path FROM findings WHERE target_id = $1 AND fixed_in_scan IS NULL ORDER BY path")
            .bind(target)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(open, ["b.py"], "a file the scan did not read keeps its finding open");

    // The same findings from the whole tree are another scan, not "nothing changed".
    let again = db::ingest::ScanInput { scope: None, ..some.clone() };
    assert!(!ingest(&pool, &again).await.unwrap().already_ingested);
}

#[tokio::test]
async fn the_demo_scans_the_platform_files_the_epics_items_point_at_and_says_so() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();

    let (revision, paths): (String, Vec<String>) = sqlx::query_as(
        "SELECT s.revision, s.scope_paths FROM scans s JOIN targets t ON t.id = s.target_id
         WHERE t.name = 'openedx/openedx-platform' ORDER BY s.id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(revision, "e57a655d77b614f19223984e9805b1fb940ab192");
    assert_eq!(paths.len(), 5, "{paths:?}");

    // Each platform item the scan covers names the finding at the lines it points at; the one
    // whose file is not among them says so instead of claiming anything.
    let main = epic::main_epic(&pool).await.unwrap().unwrap();
    let items = epic::items(&pool, &main).await.unwrap();
    let item = |n: i32| items.iter().find(|i| i.repository == "openedx/openedx-platform" && i.number == n).unwrap();
    for number in [38698, 38703, 38704, 38705, 38706] {
        let it = item(number);
        assert_eq!((it.open, it.fixed, it.scanned_files_only), (1, 0, Some(5)), "#{number}: {it:?}");
    }
    let api = item(38701);
    assert_eq!((api.open, api.repository_scanned, api.scanned_files_only), (0, true, Some(5)));

    let app = TestApp::new(&pool).build();
    let overview = send(&app, get("/", None)).await.body;
    // The overview's first lines read the real epic: 1 of 14 sub-issues closed, nobody
    // assigned, XBlock#934 the last merge.
    let fact = |testid: &str| {
        let start = overview.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("{testid} shown"));
        let end = overview[start..].find("</div></div>").map_or(overview.len(), |i| start + i);
        overview[start..end].to_owned()
    };
    assert!(fact("status-items").contains("1 of 14"), "{}", fact("status-items"));
    assert!(fact("status-assigned").contains("0 of 13"), "{}", fact("status-assigned"));
    assert!(fact("status-last-merge").contains("2026-07-08"), "{}", fact("status-last-merge"));
    assert!(
        overview.contains(
            "no finding in the place it names among the 5 files of openedx/openedx-platform scanned here (not the whole repository)"
        ),
        "#38701's file was not read"
    );
    let sentence =
        "5 files of openedx/openedx-platform (the files the epic's items point at), not the whole repository";
    let repos = send(&app, get("/repos", None)).await.body;
    let around = |page: &str| page.find("5 files of").map(|i| page[i..(i + 140).min(page.len())].to_owned());
    assert!(repos.contains(sentence), "the repositories list says what the bar is about: {:?}", around(&repos));
    let page = send(&app, get("/repos/openedx/openedx-platform", None)).await.body;
    assert!(page.contains(sentence), "so does the repository's page");

    // The weekly report of the week the scan was recorded in says it too.
    let summary = targets::summaries(&pool, false, None, true).await.unwrap();
    let platform = summary.iter().find(|t| t.name == "openedx/openedx-platform").unwrap();
    let at = platform.last_scan_at.unwrap();
    let week = app::report::IsoWeek::containing(at, chrono_tz::UTC);
    let report = send(&app, get(&format!("/reports/weekly/{week}.md"), None)).await.body;
    assert!(
        report.contains(
            "Scanned: 5 files of openedx/openedx-platform (the files the epic's items point at), not the whole repository."
        ),
        "{:?}",
        report.find("Scanned").map(|i| &report[i..(i + 160).min(report.len())])
    );
    let json = send(&app, get(&format!("/reports/weekly/{week}.json"), None)).await.body;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let row = json["targets"].as_array().unwrap().iter().find(|t| t["name"] == "openedx/openedx-platform").unwrap();
    assert!(row["scope"].as_str().unwrap().starts_with("5 files of openedx/openedx-platform"), "{row}");
    let csv = send(&app, get(&format!("/reports/weekly/{week}.csv"), None)).await.body;
    assert!(
        csv.lines().any(|l| l.contains(",openedx/openedx-platform,") && l.ends_with("not the whole repository\"")),
        "{csv}"
    );
}
