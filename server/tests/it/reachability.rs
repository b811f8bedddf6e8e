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

    let summary = models::reach::recompute(&mut *pool.acquire().await.unwrap()).await.unwrap();
    assert_eq!(summary.targets, 4);
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
    let deps = models::targets::summaries(&pool, true, None).await.unwrap();
    let counts: Vec<(&str, Option<(i64, i64)>)> = deps.iter().map(|t| (t.name.as_str(), t.open_reached)).collect();
    assert_eq!(
        counts,
        [("django-crum", Some((1, 0))), ("edx-django-utils", Some((0, 0))), ("unused-pkg", Some((0, 1)))]
    );

    // The platform stops importing edx-django-utils: after the rescan, crum is reached no more.
    let views = "def page():\n    return None\n";
    scan(&pool, TargetKind::Platform, "openedx/edx-platform", &[("lms/__init__.py", ""), ("lms/views.py", views)])
        .await;
    models::reach::recompute(&mut *pool.acquire().await.unwrap()).await.unwrap();
    assert_eq!(reached(&pool, "no").await, ["django-crum", "unused-pkg"]);
    let detail = models::findings::detail(&pool, finding).await.unwrap().unwrap();
    assert_eq!(detail.reach, Some(vec![]));
}
