//! Progress and blockers computed from findings and the dependency graph.

use crate::support::{self, fresh_database};
use db::models::progress::{self, Progress};
use sqlx::PgPool;
use unthread_server::ingest::{
    requirements::import,
    scan::{ingest, IncomingFinding},
};

fn finding(n: usize, rule: &str) -> IncomingFinding {
    IncomingFinding {
        runs_at: None,
        fingerprint: format!("fp-{rule}-{n}"),
        end_column: 10,
        ..support::finding(rule, &format!("pkg/m{n}.py"), 1)
    }
}

async fn scan(pool: &PgPool, target_id: i64, findings: Vec<IncomingFinding>) {
    ingest(pool, &support::scan_input(target_id, findings)).await.unwrap();
}

/// A dependency target for `package`, with the given findings.
async fn dependency(pool: &PgPool, package: &str, findings: Vec<IncomingFinding>) -> i64 {
    let id = db::models::targets::upsert(pool, db::kinds::TargetKind::Dependency, package).await.unwrap();
    sqlx::query("INSERT INTO target_packages (target_id, package_id) SELECT $1, id FROM packages WHERE name = $2")
        .bind(id)
        .bind(package)
        .execute(pool)
        .await
        .unwrap();
    scan(pool, id, findings).await;
    id
}

fn finding_at(n: usize, rule: &str, path: &str) -> IncomingFinding {
    IncomingFinding { fingerprint: format!("fp-{rule}-{path}-{n}"), end_column: 10, ..support::finding(rule, path, 1) }
}

#[tokio::test]
async fn progress_counts_the_scope_migrated_and_tests_apart() {
    let pool = fresh_database().await;
    let repo =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-django-utils").await.unwrap();
    let tests = || vec![finding_at(6, "UT001", "pkg/tests/test_cache.py"), finding_at(7, "UT003", "conftest.py")];
    let mut first =
        vec![finding(1, "UT001"), finding(2, "UT001"), finding(3, "UT003"), finding(4, "UT010"), finding(5, "UT100")];
    first.extend(tests());
    scan(&pool, repo, first).await;
    // UT003 is fixed by the next complete scan; UT010 is triaged away.
    let mut second = vec![finding(1, "UT001"), finding(2, "UT001"), finding(4, "UT010"), finding(5, "UT100")];
    second.extend(tests());
    scan(&pool, repo, second).await;
    sqlx::query("UPDATE findings SET triage = 'wont_fix', triage_reason = 'process-wide cache' WHERE rule = 'UT010'")
        .execute(&pool)
        .await
        .unwrap();

    let targets = progress::by_target(&pool).await.unwrap();
    // In scope: 2 open, 1 fixed, 1 triaged away. UT100 is information, tests apart.
    let expected = Progress { open: 2, fixed: 1, triaged_away: 1, migrated: 1, tests_open: 2 };
    assert_eq!(targets[0].progress, expected);
    assert_eq!(expected.total(), 4);
    assert_eq!(expected.done(), 2);
    assert_eq!(expected.percent_done(), Some(50.0));
    assert_eq!(expected.percent_fixed(), Some(25.0));
    assert_eq!(progress::overall(&targets), expected);
    assert_eq!(Progress::default().percent_done(), None, "nothing in scope is not done");

    let rules = progress::by_rule(&pool, Some(repo)).await.unwrap();
    let ut001 = rules.iter().find(|r| r.rule == "UT001").unwrap();
    assert_eq!(ut001.progress, Progress { open: 2, tests_open: 1, ..Default::default() });
    assert_eq!(rules.iter().find(|r| r.rule == "UT003").unwrap().progress.fixed, 1);
    let ut100 = rules.iter().find(|r| r.rule == "UT100").unwrap();
    assert_eq!((ut100.progress.total(), ut100.progress.migrated), (0, 1), "UT100 is never progress");
    assert!(progress::by_rule(&pool, Some(repo + 1000)).await.unwrap().is_empty());
}

/// The SQL test-code rule (`is_test_path()`) says what the scanner's does.
#[tokio::test]
async fn test_code_is_the_scanners_test_code() {
    let pool = fresh_database().await;
    let paths = [
        "pkg/tests/test_a.py",
        "tests/a.py",
        "pkg/test/helpers.py",
        "numpy/testing/utils.py",
        "pkg/test_views.py",
        "pkg/tests.py",
        "settings/test.py",
        "conftest.py",
        "pkg/conftest.py",
        "scipy/stats/_page_trend_test.py",
        "pkg/testsuite.py",
        "pkg/contest.py",
        "pkg/latest/views.py",
        "pkg/attest_test_x/mod.py",
        "test_a/b.py",
        "pkg/mytests/a.py",
    ];
    for path in paths {
        let sql: bool = sqlx::query_scalar("SELECT is_test_path($1)").bind(path).fetch_one(&pool).await.unwrap();
        assert_eq!(sql, scanner::source::is_test_module(path), "{path}");
    }
}

#[tokio::test]
async fn blockers_follow_the_via_graph() {
    let pool = fresh_database().await;
    let platform =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
    // a and d are direct requirements; a pulls in b, b pulls in c.
    let requirements = "a==1.0\n    # via -r requirements/edx/kernel.in\n\
                        b==2.0\n    # via a\n\
                        c==3.0\n    # via b\n\
                        d==4.0\n    # via -r requirements/edx/kernel.in\n";
    import(&mut pool.acquire().await.unwrap(), platform, "requirements/edx/base.txt", &requirements.parse().unwrap())
        .await
        .unwrap();
    dependency(&pool, "b", vec![]).await;
    dependency(&pool, "c", vec![finding(1, "UT001"), finding(2, "UT002"), finding(3, "UT100")]).await;
    let d = dependency(&pool, "d", vec![finding(1, "UT010")]).await;
    sqlx::query(
        "UPDATE findings SET triage = 'false_positive', triage_reason = 'import-time only' WHERE target_id = $1",
    )
    .bind(d)
    .execute(&pool)
    .await
    .unwrap();

    let blockers = progress::blockers(&pool, platform).await.unwrap();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(blockers[0].package, "c");
    assert_eq!(blockers[0].version.as_deref(), Some("3.0"));
    assert_eq!(blockers[0].open, 2);
    assert_eq!(blockers[0].chain, ["a", "b", "c"]);
}

/// Scans that changed nothing fold into one line per day on the overview's activity, so they
/// do not push a real event off the list; a scan that changed something keeps its own line.
#[tokio::test]
async fn quiet_scans_fold_into_one_line_per_day() {
    use db::models::events::{self, About, Event};
    let pool = fresh_database().await;
    let quiet = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/quiet").await.unwrap();
    let other = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/other").await.unwrap();
    let scan = |new: i64| {
        Event::from_row(
            "scan.ingested",
            serde_json::json!({"status": "complete", "revision": null, "tool": "t", "new": new, "seen": 1,
                               "renamed": 0, "reopened": 0, "fixed": 0, "unread_files": 0}),
        )
        .unwrap()
    };
    let at = |text: &str| Some(text.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
    for (target, new, when) in [
        (quiet, 0, "2026-07-01T09:00:00Z"),
        (other, 0, "2026-07-01T10:00:00Z"),
        (quiet, 0, "2026-07-01T11:00:00Z"),
        (other, 2, "2026-07-01T12:00:00Z"),
        (quiet, 0, "2026-07-02T08:00:00Z"),
    ] {
        let about = About { target_id: Some(target), at: at(when), ..Default::default() };
        events::record(&pool, &scan(new), about).await.unwrap();
    }
    let lines: Vec<String> =
        db::models::activity::recent(&pool, 10).await.unwrap().into_iter().map(|a| a.sentence).collect();
    assert_eq!(
        lines,
        [
            "Scan of openedx/quiet: no change",
            "Scan of openedx/other: 2 new",
            "3 scans with no change on 2026-07-01 (openedx/quiet, openedx/other)",
        ]
    );
}

/// "This week" on the overview: findings first seen and fixed by scans finished in the
/// window, in the one scope (UT100 and test code apart), triage and claims made in it.
#[tokio::test]
async fn the_weeks_changes_count_what_happened_in_each_window() {
    use chrono::{Duration, Utc};
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/weekly").await.unwrap();
    let at = |days_ago: i64| Utc::now() - Duration::days(days_ago);
    let input = |findings: Vec<IncomingFinding>, days_ago: i64| unthread_server::ingest::scan::ScanInput {
        finished_at: Some(at(days_ago)),
        revision: Some(format!("r{days_ago}")),
        ..support::scan_input(target, findings)
    };
    // Ten days ago: three findings, one of them UT100 (not in scope), one in test code.
    let test_code = IncomingFinding { path: "pkg/tests/test_m.py".into(), ..finding(9, "UT001") };
    ingest(&pool, &input(vec![finding(1, "UT001"), finding(2, "UT100"), test_code.clone()], 10)).await.unwrap();
    // Three days ago: UT001 #1 fixed, two new ones.
    ingest(&pool, &input(vec![finding(2, "UT100"), test_code, finding(3, "UT002"), finding(4, "UT003")], 3))
        .await
        .unwrap();

    let week = |from: i64, to: i64| progress::changes_between(&pool, at(from), at(to));
    let this = week(7, 0).await.unwrap();
    let before = week(14, 7).await.unwrap();
    assert_eq!((this.new, this.fixed), (2, 1), "{this:?}");
    assert_eq!((before.new, before.fixed), (1, 0), "only the in-scope finding of the first scan: {before:?}");
    assert_eq!((this.triaged, this.claims, before.triaged, before.claims), (0, 0, 0, 0));
}

/// Root causes: a call counts for the package whose thread local its chain ends at, whichever
/// package's API it called — crum is the root of edx-rbac's calls too, edx-rbac of none.
#[tokio::test]
async fn calls_count_for_the_thread_local_their_chain_ends_at() {
    use db::kinds::TargetKind::{Dependency, Library};
    let pool = fresh_database().await;
    let crum = db::models::targets::upsert(&pool, Dependency, "django-crum").await.unwrap();
    let rbac = db::models::targets::upsert(&pool, Dependency, "edx-rbac").await.unwrap();
    let app = db::models::targets::upsert(&pool, Library, "openedx/app").await.unwrap();
    let holder = IncomingFinding {
        symbol: Some("crum".into()),
        message: "`threading.local()` keeps per-thread state".into(),
        ..support::finding("UT001", "crum/__init__.py", 6)
    };
    scan(&pool, crum, vec![holder]).await;
    scan(&pool, rbac, vec![]).await;
    let call = |n: usize, api: &str, package: &str| IncomingFinding {
        message: format!(
            "`{api}` is backed by thread-local `crum._thread_locals` in {package}: `{api}` → `crum._thread_locals`"
        ),
        ..support::finding("UT011", &format!("app/views{n}.py"), 3)
    };
    scan(
        &pool,
        app,
        vec![
            call(1, "crum.get_current_user", "django-crum"),
            call(2, "edx_rbac.decorators.permission_required", "edx-rbac"),
            call(3, "edx_rbac.decorators.permission_required", "edx-rbac"),
        ],
    )
    .await;
    let roots = db::models::impact::root_calls_by_target(&pool, None).await.unwrap();
    assert_eq!(roots.get(&crum), Some(&3), "its own API's call and edx-rbac's two");
    assert_eq!(roots.get(&rbac), None, "edx-rbac holds no thread local: its calls end at crum's");
    let deps = db::models::targets::summaries(&pool, true, None, true).await.unwrap();
    let of = |id: i64| deps.iter().find(|t| t.id == id).unwrap();
    assert_eq!((of(crum).root_calls, of(crum).impact.0), (3, 1), "root of 3, its own APIs called once");
    assert_eq!((of(rbac).root_calls, of(rbac).impact.0), (0, 2));
}
