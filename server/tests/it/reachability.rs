//! Reachability end to end: real scans (with their import indexes) of a platform and three
//! dependencies, ingested; recomputed; seen by the explorer's facet, the finding page's chain
//! and the dependency list — and recomputed after a rescan drops the import.

use crate::support::fresh_database;
use db::{kinds::TargetKind, models, views::FindingFilter};
use scanner::{scan::scan_sources, source::SourceFile, ScanOptions};
use sqlx::PgPool;
use unthread_server::ingest::scan::{ingest, ScanInput};

const LOCAL: &str = "import threading\n_state = threading.local()\n\ndef get():\n    return _state\n";

async fn scan(pool: &PgPool, kind: TargetKind, name: &str, files: &[(&str, &str)]) -> i64 {
    let target = models::targets::upsert(pool, kind, name).await.unwrap();
    let sources = files
        .iter()
        .map(|(path, src)| SourceFile { path: (*path).into(), contents: Ok(src.as_bytes().to_vec()), on_disk: None })
        .collect();
    let options = ScanOptions { import_index: true, ..Default::default() };
    let report = scan_sources(sources, name, &options);
    ingest(pool, &ScanInput::from_report(target, None, &report)).await.unwrap();
    target
}

async fn reached(pool: &PgPool, value: &str) -> Vec<String> {
    let filter = FindingFilter { reached: Some(value.into()), ..Default::default() };
    let page = models::findings::explore(pool, &filter, None).await.unwrap();
    let mut targets: Vec<String> = page.rows.into_iter().map(|r| r.target).collect();
    targets.sort();
    targets
}

#[tokio::test]
async fn dependency_findings_are_reached_through_imports() {
    let pool = fresh_database().await;
    let views = "from edx_django_utils.cache.utils import RequestCache\n\ndef page():\n    return RequestCache()\n";
    let platform =
        [("lms/__init__.py", ""), ("lms/views.py", views), ("lms/tests/test_views.py", "import unused_pkg\n")];
    scan(&pool, TargetKind::Platform, "openedx/edx-platform", &platform).await;
    scan(
        &pool,
        TargetKind::Dependency,
        "edx-django-utils",
        &[
            ("edx_django_utils/__init__.py", ""),
            ("edx_django_utils/cache/__init__.py", ""),
            ("edx_django_utils/cache/utils.py", "import crum\n\nclass RequestCache:\n    pass\n"),
        ],
    )
    .await;
    scan(&pool, TargetKind::Dependency, "django-crum", &[("crum/__init__.py", LOCAL)]).await;
    scan(&pool, TargetKind::Dependency, "unused-pkg", &[("unused_pkg/__init__.py", LOCAL)]).await;
    // Not computed yet: nothing is known.
    assert_eq!(reached(&pool, "unknown").await, ["django-crum", "unused-pkg"]);

    let summary = models::reach::recompute(&mut pool.acquire().await.unwrap()).await.unwrap();
    assert_eq!(summary.targets, 4);
    // Kept as history, for the weekly report: crum's finding reached, unused-pkg's not.
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    let (_, figures) = models::events::last_reach_before(&pool, later).await.unwrap().unwrap();
    assert_eq!((figures.dependency_findings_reached, figures.dependency_findings_not_reached), (1, 1));
    assert_eq!(reached(&pool, "yes").await, ["django-crum"]);
    // Imported only by the platform's tests: not reached.
    assert_eq!(reached(&pool, "no").await, ["unused-pkg"]);
    let page = models::findings::explore(&pool, &FindingFilter::default(), None).await.unwrap();
    let facet: Vec<(String, i64)> = page.by_reached.iter().map(|f| (f.value.clone(), f.count)).collect();
    assert_eq!(facet, [("no".into(), 1), ("yes".into(), 1)]);

    // The finding page names the chain.
    let finding = page.rows.iter().find(|r| r.target == "django-crum").unwrap().id;
    let detail = models::findings::detail(&pool, finding).await.unwrap().unwrap();
    assert_eq!(detail.reach.unwrap(), ["openedx/edx-platform:lms.views", "edx_django_utils.cache.utils", "crum"]);
    // The dependency list counts open findings reached and not.
    let deps = models::targets::summaries(&pool, true, None, true).await.unwrap();
    let counts: Vec<(&str, Option<(i64, i64)>)> = deps.iter().map(|t| (t.name.as_str(), t.open_reached)).collect();
    assert_eq!(
        counts,
        [("django-crum", Some((1, 0))), ("edx-django-utils", Some((0, 0))), ("unused-pkg", Some((0, 1)))]
    );
    // The pages' counts leave unused-pkg's finding out by default, and count it apart: the
    // overview, its burndown and week, and the dependency list agree.
    let open = |targets: &[models::progress::TargetProgress]| models::progress::overall(targets).open;
    let everything = open(&models::progress::by_target_in(&pool, true).await.unwrap());
    let imported = open(&models::progress::by_target_in(&pool, false).await.unwrap());
    assert_eq!(models::progress::open_unreached(&pool, None).await.unwrap(), 1);
    assert_eq!(models::progress::open_unreached(&pool, Some(false)).await.unwrap(), 0);
    assert_eq!(imported + 1, everything);
    let last_open = |series: Vec<db::views::BurndownPoint>| series.last().unwrap().open;
    assert_eq!(last_open(models::progress::burndown_in(&pool, 30, false).await.unwrap()), imported);
    assert_eq!(last_open(models::progress::burndown_in(&pool, 30, true).await.unwrap()), everything);
    let (from, to) = (chrono::Utc::now() - chrono::Duration::days(1), later);
    assert_eq!(models::progress::changes_between_in(&pool, from, to, false).await.unwrap().new, imported);
    assert_eq!(models::progress::changes_between_in(&pool, from, to, true).await.unwrap().new, everything);
    let deps = models::targets::summaries(&pool, true, None, false).await.unwrap();
    let unused = deps.iter().find(|t| t.name == "unused-pkg").unwrap();
    assert_eq!((unused.progress.open, unused.open_reached, unused.left_out), (0, Some((0, 1)), 1));
    let rules = models::progress::by_rule_in(&pool, None, false).await.unwrap();
    assert_eq!(rules.iter().map(|r| r.progress.open).sum::<i64>(), imported);

    // The platform stops importing edx-django-utils: after the rescan, crum is reached no more.
    let views = "def page():\n    return None\n";
    scan(&pool, TargetKind::Platform, "openedx/edx-platform", &[("lms/__init__.py", ""), ("lms/views.py", views)])
        .await;
    models::reach::recompute(&mut pool.acquire().await.unwrap()).await.unwrap();
    assert_eq!(reached(&pool, "no").await, ["django-crum", "unused-pkg"]);
    let detail = models::findings::detail(&pool, finding).await.unwrap().unwrap();
    assert_eq!(detail.reach, Some(vec![]));
}

#[tokio::test]
async fn a_dependencys_impact_is_the_calls_of_its_apis_elsewhere() {
    let pool = fresh_database().await;
    let crum_files = [(
        "crum/__init__.py",
        "import threading\n_thread_locals = threading.local()\n\ndef get_current_request():\n    return getattr(_thread_locals, 'request', None)\n\ndef get_current_user():\n    return get_current_request().user\n",
    )];
    let crum = models::targets::upsert(&pool, TargetKind::Dependency, "django-crum").await.unwrap();
    let sources = crate::support::seed::sources;
    let report = scan_sources(sources(&crum_files), "django-crum", &ScanOptions::default());
    assert!(report.api_index.get("crum.get_current_user").is_some());
    ingest(&pool, &ScanInput::from_report(crum, None, &report)).await.unwrap();
    // Two repositories call it: three places in all.
    let views = "from crum import get_current_request, get_current_user\n\ndef a():\n    return get_current_request()\n\ndef b():\n    return get_current_user()\n";
    let audit = "import crum\n\ndef log():\n    return crum.get_current_user()\n";
    for (name, files) in [("openedx/platform", [("lms/views.py", views)]), ("openedx/audit", [("audit/log.py", audit)])]
    {
        let target = models::targets::upsert(&pool, TargetKind::Library, name).await.unwrap();
        let options = ScanOptions { api_index: report.api_index.clone(), ..Default::default() };
        let scanned = scan_sources(sources(&files), name, &options);
        ingest(&pool, &ScanInput::from_report(target, None, &scanned)).await.unwrap();
    }
    let deps = models::targets::summaries(&pool, true, None, true).await.unwrap();
    assert_eq!(deps[0].impact, (3, 2));
    // The crum finding's page shows the same call evidence.
    let page = models::findings::explore(
        &pool,
        &FindingFilter { target: Some("django-crum".into()), ..Default::default() },
        None,
    )
    .await
    .unwrap();
    let holder = models::findings::detail(&pool, page.rows[0].id).await.unwrap().unwrap();
    assert_eq!(holder.calls_elsewhere, (3, 2));
    let detail = models::targets::detail(&pool, "django-crum").await.unwrap().unwrap();
    let apis: Vec<(&str, i64, Vec<(&str, i64)>)> = detail
        .apis
        .iter()
        .map(|a| (a.qualname.as_str(), a.calls, a.callers.iter().map(|c| (c.target.as_str(), c.calls)).collect()))
        .collect();
    assert_eq!(
        apis,
        [
            ("crum.get_current_user", 2, vec![("openedx/audit", 1), ("openedx/platform", 1)]),
            ("crum.get_current_request", 1, vec![("openedx/platform", 1)]),
        ]
    );
    assert_eq!(detail.apis[0].chain, ["crum.get_current_user", "crum.get_current_request", "crum._thread_locals"]);
    // A triaged call no longer counts.
    let finding = detail.apis[1].callers[0].example;
    sqlx::query("UPDATE findings SET triage = 'wont_fix', triage_reason = 'test' WHERE id = $1")
        .bind(finding)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(models::targets::summaries(&pool, true, None, true).await.unwrap()[0].impact, (2, 2));
}
