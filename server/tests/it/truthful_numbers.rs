//! The demo's numbers agree on every page and export, and its links, people and epic items
//! say what they mean (the one scope of `db::progress`).

use crate::support::fresh_database;
use db::models::{epic, findings, history, people, progress, targets, teams};
use db::views::{FindingFilter, LinkScope};

fn filter(state: &str, target: Option<&str>) -> FindingFilter {
    FindingFilter { state: Some(state.to_owned()), target: target.map(str::to_owned), ..Default::default() }
}

#[tokio::test]
async fn every_page_and_export_count_the_demo_the_same_way() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();

    let overall = progress::overall(&progress::by_target(&pool).await.unwrap());
    assert!(overall.total() > 1000 && overall.fixed >= 1, "{overall:?}");
    assert!(overall.migrated > 0, "UT100 places are counted apart");
    assert_eq!(
        progress::by_rule(&pool, None).await.unwrap().iter().find(|r| r.rule == "UT100").unwrap().progress.total(),
        0
    );

    // /repos + /deps sum to the overview.
    let mut sides = db::progress::Progress::default();
    for dependencies in [false, true] {
        for t in targets::summaries(&pool, dependencies, None, true).await.unwrap() {
            sides.add(&t.progress);
        }
    }
    assert_eq!(sides, overall);

    // The explorer's totals, per state and overall.
    for (state, expected) in [
        ("open", overall.open),
        ("fixed", overall.fixed),
        ("triaged_away", overall.triaged_away),
        ("all", overall.total()),
        ("migrated", overall.migrated),
    ] {
        let page = findings::explore(&pool, &filter(state, None), None).await.unwrap();
        assert_eq!(page.total, expected, "/findings?state={state}");
    }
    let tests = findings::explore(&pool, &FindingFilter { tests: Some("only".into()), ..Default::default() }, None)
        .await
        .unwrap();
    assert_eq!(tests.total, overall.tests_open, "/findings?tests=only");

    // Filed vs found counts the same findings.
    let filed = epic::filed_vs_found(&pool, None, true).await.unwrap();
    assert_eq!(filed.total.unwrap().found, overall.total());
    // And in the pages' default scope, the overview's headline total.
    let default_scope = progress::overall(&progress::by_target_in(&pool, false).await.unwrap());
    let filed = epic::filed_vs_found(&pool, None, false).await.unwrap();
    assert_eq!(filed.total.unwrap().found, default_scope.total());

    // The weekly report of the current week ends where the pages stand.
    let options = app::report::Options {
        week: app::report::IsoWeek::containing(chrono::Utc::now(), chrono_tz::UTC),
        timezone: chrono_tz::UTC,
        stale_after_days: 14,
        base_url: "https://unthread.example.org".into(),
    };
    let report = app::report::build(&pool, &options).await.unwrap();
    let h = &report.headline;
    assert_eq!(
        (h.open, h.fixed, h.triaged_away, h.total, h.migrated, h.tests_open),
        (overall.open, overall.fixed, overall.triaged_away, overall.total(), overall.migrated, overall.tests_open)
    );
    assert_eq!(report.filed.found, overall.total());

    // Per target: each summary against the explorer and the report's row.
    for t in targets::summaries(&pool, false, None, true).await.unwrap() {
        let page = findings::explore(&pool, &filter("all", Some(&t.name)), None).await.unwrap();
        assert_eq!(page.total, t.progress.total(), "{}", t.name);
        let open = findings::explore(&pool, &filter("open", Some(&t.name)), None).await.unwrap();
        assert_eq!(open.total, t.progress.open, "{}", t.name);
        if let Some(row) = report.targets.iter().find(|r| r.name == t.name) {
            assert_eq!((row.open, row.fixed, row.total), (t.progress.open, t.progress.fixed, t.progress.total()));
        }
    }

    // Per team: the sum of its repositories.
    let repositories = targets::summaries(&pool, false, None, true).await.unwrap();
    for team in teams::summaries(&pool, 14).await.unwrap() {
        let mut sum = db::progress::Progress::default();
        for r in repositories.iter().filter(|r| team.repositories.contains(&r.name)) {
            sum.add(&r.progress);
        }
        assert_eq!(sum, team.progress, "{}", team.team);
    }

    // Of openedx-platform only the files the epic's items point at were scanned, and its
    // summary says so; its open items are shown.
    let platform = repositories.iter().find(|r| r.name == "openedx/openedx-platform").unwrap();
    assert_eq!(platform.scope.as_ref().map(|s| s.files), Some(5));
    assert!(platform.epic_items_open >= 6, "{}", platform.epic_items_open);
    // A dependency scanned with nothing in scope has no percentage.
    let quiet = targets::summaries(&pool, true, None, true).await.unwrap();
    assert!(quiet
        .iter()
        .any(|d| d.last_scan_status.is_some() && d.progress.total() == 0 && d.progress.percent_done().is_none()));
}

#[tokio::test]
async fn the_demos_links_people_and_items_say_what_they_mean() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();

    // XBlock#934 changed xblock/mixins.py… and kept `_CLASS_CACHE` on purpose: the merged pull
    // request is evidence that touched the finding, not a claim that it is filed or fixed.
    let (kept_id, target_id): (i64, i64) = sqlx::query_as(
        "SELECT f.id, f.target_id FROM findings f JOIN targets t ON t.id = f.target_id
         WHERE t.name = 'openedx/XBlock' AND f.fixed_in_scan IS NULL
           AND EXISTS (SELECT 1 FROM links l JOIN gh_pulls p ON p.id = l.pull_id WHERE l.finding_id = f.id AND p.number = 934)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let github = findings::github_for(&pool, Some(kept_id), target_id).await.unwrap();
    let pull = github.iter().find(|g| g.kind == "pull" && g.number == 934).unwrap();
    assert_eq!((pull.scope, pull.kept), (LinkScope::Touched, true), "{github:?}");
    let unfiled =
        FindingFilter { filed: Some("no".into()), target: Some("openedx/XBlock".into()), ..Default::default() };
    let page = findings::explore(&pool, &unfiled, None).await.unwrap();
    assert!(page.rows.iter().any(|r| r.id == kept_id), "a pull request's changed file does not file a finding");

    // XBlock#918 was closed by #934's merge commit: its timeline says so, not its author.
    let week = app::report::IsoWeek::containing(
        chrono::DateTime::parse_from_rfc3339("2026-07-08T13:00:00Z").unwrap().into(),
        chrono_tz::UTC,
    );
    let (start, end) = week.bounds(chrono_tz::UTC);
    let closed = history::sub_issues_changed(&pool, start, end).await.unwrap();
    let xblock = closed.iter().find(|i| i.number == 918).unwrap();
    assert_eq!(
        xblock.closed_by,
        Some(history::Closer::Pull {
            reference: "openedx/XBlock#934".into(),
            url: "https://github.com/openedx/XBlock/pull/934".into(),
            author: Some("irfanuddinahmad".into()),
        })
    );

    // The real contributor who fixed the RLock is a person of the product and a top contributor.
    let person = people::person(&pool, "irfanuddinahmad").await.unwrap().expect("/people/irfanuddinahmad");
    assert_eq!(person.role, None);
    assert_eq!(person.fixed.len(), 1);
    assert_eq!(person.fixed[0].path, "xblock/runtime.py");
    assert!(person.github.iter().any(|g| g.kind == "pull" && g.number == 934));
    let top = progress::top_contributors(&pool, 10).await.unwrap();
    let irfan = top.iter().find(|c| c.login == "irfanuddinahmad").expect("in top contributors");
    assert_eq!((irfan.fixed, irfan.github_only), (1, true));
    assert!(top.iter().filter(|c| !c.github_only).all(|c| c.name.as_deref().is_some_and(|n| n.contains("simulated"))));

    // The demo's people are simulated, and every list says so.
    let repos = targets::summaries(&pool, false, None, true).await.unwrap();
    let owners: Vec<&String> = repos.iter().flat_map(|r| &r.owners).collect();
    assert!(!owners.is_empty() && owners.iter().all(|o| o.ends_with(" (simulated)")), "{owners:?}");
    let explorer =
        findings::explore(&pool, &FindingFilter { unowned: false, ..Default::default() }, None).await.unwrap();
    assert!(explorer.rows.iter().filter(|r| r.owner.is_some()).all(|r| r.owner_simulated));

    // Epic items say what they are.
    let main = epic::main_epic(&pool).await.unwrap().unwrap();
    let items = epic::items(&pool, &main).await.unwrap();
    let item = |n: i32| items.iter().find(|i| i.number == n).unwrap();
    assert!(!item(38740).names_place, "linting is tooling, not a place");
    // Only the platform files the epic's items point at are scanned in the demo (tests in
    // `scan_scope`): the item names the finding at its lines.
    assert!(item(38703).names_place && item(38703).open == 1 && item(38703).scanned_files_only == Some(5));
    assert_eq!(item(38707).about, ["django-crum"], "crum is a scanned dependency");
    let pr = items.iter().find(|i| i.is_pull && i.number == 934).unwrap();
    assert_eq!((pr.open, pr.touched_open, pr.touched_fixed), (0, 1, 1), "{pr:?}");
}

/// Nothing green that was not measured: a target never scanned says "not scanned", one
/// scanned with nothing in scope "nothing found", a partial scan which files it could not
/// read — on /repos, /deps and the target's page.
#[tokio::test]
async fn list_pages_say_not_scanned_nothing_found_and_partial() {
    use crate::support::{http::get, send, TestApp};
    use db::kinds::TargetKind;
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).build();
    targets::upsert(&pool, TargetKind::Library, "openedx/never-scanned").await.unwrap();
    let quiet = targets::upsert(&pool, TargetKind::Library, "openedx/quiet").await.unwrap();
    let partial = targets::upsert(&pool, TargetKind::Library, "openedx/partial").await.unwrap();
    targets::upsert(&pool, TargetKind::Dependency, "django-unscanned").await.unwrap();
    let tested = targets::upsert(&pool, TargetKind::Dependency, "only-tests").await.unwrap();
    crate::support::seed_scan(&pool, quiet).await;
    crate::support::seed_finding(&pool, partial, "partial/cache.py", Some("partial.cache._local")).await;
    let scan: i64 = sqlx::query_scalar(
        "INSERT INTO scans (target_id, tool, status, files_scanned, files_failed, finished_at)
         VALUES ($1, 'seed', 'partial', 10, 1, now() + interval '1 second') RETURNING id",
    )
    .bind(partial)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scan_unread_files (scan_id, path, reason) VALUES ($1, 'partial/huge.py', 'over the size limit')",
    )
    .bind(scan)
    .execute(&pool)
    .await
    .unwrap();
    crate::support::seed_finding(&pool, tested, "only_tests/tests/test_a.py", None).await;

    let repos = send(&app, get("/repos", None)).await.body;
    let row = |page: &str, name: &str| {
        let start = page.find(&format!(">{name}<")).unwrap_or_else(|| panic!("{name} listed"));
        let end = page[start..].find("</tr>").unwrap() + start;
        page[start..end].to_owned()
    };
    let never = row(&repos, "openedx/never-scanned");
    assert!(never.contains("not scanned") && !never.contains("progressbar"), "{never}");
    let nothing = row(&repos, "openedx/quiet");
    assert!(nothing.contains("nothing found") && !nothing.contains("progressbar"), "{nothing}");
    let part = row(&repos, "openedx/partial");
    assert!(part.contains("progressbar") && part.contains("partial scan: 1 file not read"), "{part}");
    assert!(!repos.contains("100%") && !repos.contains("(100 %)"), "no full bar anywhere");

    let deps = send(&app, get("/deps", None)).await.body;
    assert!(row(&deps, "django-unscanned").contains("not scanned"));
    let tests_only = row(&deps, "only-tests");
    assert!(tests_only.contains("nothing found"), "a finding in test code is out of scope: {tests_only}");

    let page = send(&app, get("/repos/openedx/partial", None)).await.body;
    assert!(page.contains("partial/huge.py") && page.contains("over the size limit"), "which files were not read");
}

/// Names from outside (a team from a repository's catalog-info.yaml, a target) are escaped
/// in the page's `<title>`: a team named `</title><meta http-equiv=refresh …>` redirects nobody.
#[tokio::test]
async fn page_titles_escape_the_names_they_show() {
    use crate::support::{http::get, send, TestApp};
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).build();
    let hostile = "</title><meta http-equiv=refresh content=0;url=https://evil.example>";
    let target = targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/titled").await.unwrap();
    sqlx::query("UPDATE targets SET owner_team = $2, owner_team_source = 'CODEOWNERS' WHERE id = $1")
        .bind(target)
        .bind(hostile)
        .execute(&pool)
        .await
        .unwrap();
    let encoded: String = hostile.bytes().map(|b| format!("%{b:02X}")).collect();
    let page = send(&app, get(&format!("/teams/{encoded}"), None)).await.body;
    let head = &page[..page.find("</head>").unwrap_or(page.len())];
    assert!(!head.contains("<meta http-equiv=refresh"), "{head}");
    assert!(head.contains("&lt;/title&gt;&lt;meta http-equiv=refresh"), "{head}");
    // Every page's title and meta tags escape what the URL puts in them (the shell's formatter).
    let markup: String = "<b>bold\"'".bytes().map(|b| format!("%{b:02X}")).collect();
    let pages = [
        format!("/people/{markup}"),
        format!("/teams/{markup}"),
        format!("/repos/{markup}/{markup}"),
        format!("/deps/{markup}"),
        format!("/rules/{markup}"),
        format!("/findings/{markup}"),
        format!("/findings?q={markup}&target={markup}"),
        format!("/reports/weekly?week={markup}"),
        format!("/{markup}"),
    ];
    for path in pages {
        let page = send(&app, get(&path, None)).await.body;
        let head = &page[..page.find("</head>").unwrap_or(page.len())];
        assert!(!head.contains("<b>bold"), "{path}: {head}");
        for tag in head.split('<').filter(|t| t.starts_with("meta ") || t.starts_with("title")) {
            assert!(!tag.contains("bold\"'"), "{path}: an attribute or title took the quotes raw: <{tag}");
        }
    }
}
