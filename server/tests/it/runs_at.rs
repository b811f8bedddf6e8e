//! "Runs at" end to end: a scan with the call graph, ingested; the explorer's facet and
//! filter, the finding page's path; a rescan after the only request-time caller is gone
//! updates it.

use crate::support::{fresh_database, seed::sources};
use db::{kinds::TargetKind, models, views::FindingFilter};
use scanner::{scan::scan_sources, ScanOptions};
use sqlx::PgPool;
use unthread_server::ingest::scan::{ingest, ScanInput};

const STATE: &str = "import threading\n\n_seen = {}\n_lock = threading.Lock()\n\ndef remember(user):\n    _seen[user] = True\n\ndef warm():\n    _seen.clear()\n";

async fn scan(pool: &PgPool, target: i64, state: &str, views: &str) {
    let files = [("shop/__init__.py", ""), ("shop/state.py", state), ("shop/views.py", views), ("shop/apps.py", APPS)];
    let options = ScanOptions { runs_at: true, ..Default::default() };
    let report = scan_sources(sources(&files), "shop", &options);
    ingest(pool, &ScanInput::from_report(target, Some("c1".into()), &report)).await.unwrap();
}

const APPS: &str = "from django.apps import AppConfig\nfrom .state import warm\n\nclass ShopConfig(AppConfig):\n    def ready(self):\n        warm()\n";
const VIEWS: &str = "from django.http import HttpResponse\nfrom .state import remember\n\ndef profile(request):\n    remember(request.user)\n    return HttpResponse()\n";

async fn runs_at_of(pool: &PgPool, rule: &str) -> (Option<String>, Vec<String>) {
    let filter = FindingFilter { rule: Some(rule.into()), ..Default::default() };
    let page = models::findings::explore(pool, &filter, None).await.unwrap();
    let detail = models::findings::detail(pool, page.rows[0].id).await.unwrap().unwrap();
    let runs_at = detail.runs_at.clone();
    (runs_at.as_ref().map(|r| r.at.clone()), runs_at.map(|r| r.path).unwrap_or_default())
}

#[tokio::test]
async fn findings_say_when_their_code_runs_and_the_explorer_counts_it() {
    let pool = fresh_database().await;
    let target = models::targets::upsert(&pool, TargetKind::Library, "openedx/shop").await.unwrap();
    scan(&pool, target, STATE, VIEWS).await;

    // UT010's global is written by a view's helper (request time) and by ready() (start-up):
    // request time counts, with the view's path.
    let (at, path) = runs_at_of(&pool, "UT010").await;
    assert_eq!(at.as_deref(), Some("request"));
    assert_eq!(path, ["shop.views.profile", "shop.state.remember"]);
    // A module-level lock is made at import and used wherever it is imported.
    assert_eq!(runs_at_of(&pool, "UT003").await.0.as_deref(), Some("unknown"));

    let page = models::findings::explore(&pool, &FindingFilter::default(), None).await.unwrap();
    let counts: Vec<(String, i64)> = page.by_runs_at.iter().map(|c| (c.value.clone(), c.count)).collect();
    assert_eq!(counts, [("request".to_owned(), 1), ("unknown".to_owned(), 1)]);
    let filter = FindingFilter { runs_at: Some("request".into()), ..Default::default() };
    let requested = models::findings::explore(&pool, &filter, None).await.unwrap();
    assert_eq!(requested.rows.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>(), ["UT010"]);

    // The helper is gone: the same finding, now written only at start-up.
    let state = STATE.replace("def remember(user):\n    _seen[user] = True\n\n", "");
    let views = "from django.http import HttpResponse\n\ndef profile(request):\n    return HttpResponse()\n";
    scan(&pool, target, &state, views).await;
    let (at, path) = runs_at_of(&pool, "UT010").await;
    assert_eq!(at.as_deref(), Some("start-up"));
    assert_eq!(path, ["shop.apps.ShopConfig.ready", "shop.state.warm"]);
}

/// Across packages, through the API index: a dependency's thread local is used at request
/// time when a repository's view calls its API; the holder's finding says so, with the call,
/// and the explorer counts it there. When the call goes, so does the claim.
#[tokio::test]
async fn a_thread_local_is_used_when_other_code_calls_its_api() {
    let pool = fresh_database().await;
    let low = models::targets::upsert(&pool, TargetKind::Dependency, "low").await.unwrap();
    let shop = models::targets::upsert(&pool, TargetKind::Library, "openedx/shop").await.unwrap();
    let state =
        "import threading\n_local = threading.local()\n\ndef current():\n    return getattr(_local, 'user', None)\n";
    let low_report = scan_sources(
        sources(&[("low/__init__.py", state)]),
        "low",
        &ScanOptions { runs_at: true, ..Default::default() },
    );
    ingest(&pool, &ScanInput::from_report(low, Some("1.0".into()), &low_report)).await.unwrap();
    let scan_shop = |views: &'static str| {
        let options = ScanOptions { runs_at: true, api_index: low_report.api_index.clone(), ..Default::default() };
        let report = scan_sources(sources(&[("shop/__init__.py", ""), ("shop/views.py", views)]), "shop", &options);
        let pool = pool.clone();
        async move { ingest(&pool, &ScanInput::from_report(shop, Some("c1".into()), &report)).await.unwrap() }
    };
    scan_shop("import low\nfrom django.http import HttpResponse\n\ndef profile(request):\n    low.current()\n    return HttpResponse()\n").await;
    let mut conn = pool.acquire().await.unwrap();
    let summary = models::runs_at_via::recompute(&mut conn).await.unwrap();
    assert_eq!((summary.request, summary.worker), (1, 0));

    let holder = FindingFilter { rule: Some("UT001".into()), ..Default::default() };
    let id = models::findings::explore(&pool, &holder, None).await.unwrap().rows[0].id;
    let detail = models::findings::detail(&pool, id).await.unwrap().unwrap();
    assert_eq!(detail.runs_at.as_ref().map(|r| r.at.as_str()), Some("unknown"), "its own package cannot tell");
    let via = detail.runs_at_via.expect("used through shop's view");
    assert_eq!(via.at, "request");
    assert_eq!(via.path, ["shop.views.profile", "low.current", "low._local"]);
    assert!(via.why.contains("openedx/shop (`shop/views.py:5`) calls `low.current`"), "{}", via.why);
    let at_request = FindingFilter { runs_at: Some("request".into()), ..Default::default() };
    let rules: Vec<String> =
        models::findings::explore(&pool, &at_request, None).await.unwrap().rows.into_iter().map(|r| r.rule).collect();
    assert_eq!(rules, ["UT001", "UT011"], "the holder counts at request time too");

    // The view no longer calls it: nothing reaches the thread local from outside.
    scan_shop("from django.http import HttpResponse\n\ndef profile(request):\n    return HttpResponse()\n").await;
    models::runs_at_via::recompute(&mut conn).await.unwrap();
    assert!(models::findings::detail(&pool, id).await.unwrap().unwrap().runs_at_via.is_none());
}

/// Across packages for any finding: a library's function that nothing in its own package
/// calls runs when another target's view calls it (through a re-export), and so does what
/// that function calls in a third package; the findings say so, with the path. When the view
/// stops calling it, both are unknown again.
#[tokio::test]
async fn a_librarys_function_runs_when_another_targets_view_calls_it() {
    let pool = fresh_database().await;
    let low = models::targets::upsert(&pool, TargetKind::Dependency, "lowlevel").await.unwrap();
    let lib = models::targets::upsert(&pool, TargetKind::Dependency, "mailer").await.unwrap();
    let shop = models::targets::upsert(&pool, TargetKind::Library, "openedx/shop").await.unwrap();
    let options =
        ScanOptions { runs_at: true, call_graph_rules: true, unknown_time_writes: true, ..Default::default() };
    let scan = |target: i64, name: &'static str, files: &[(&str, &str)]| {
        let report = scan_sources(sources(files), name, &options);
        let pool = pool.clone();
        async move {
            ingest(&pool, &ScanInput::from_report(target, Some("1".into()), &report)).await.unwrap();
            report
        }
    };
    let low_files =
        [("lowlevel/__init__.py", "class Queue:\n    head = None\n\ndef push(item):\n    Queue.head = item\n")];
    let report = scan(low, "lowlevel", &low_files).await;
    assert_eq!(report.findings[0].runs_at.as_ref().unwrap().open_ends, ["lowlevel.push"]);
    let lib_files = [
        ("mailer/__init__.py", "from .core import send\n"),
        (
            "mailer/core.py",
            "import lowlevel\n\nclass Outbox:\n    last = None\n\ndef send(message):\n    Outbox.last = message\n    lowlevel.push(message)\n",
        ),
    ];
    let report = scan(lib, "mailer", &lib_files).await;
    let write = report.findings.iter().find(|f| f.rule == "UT013").expect("the class attribute write");
    assert_eq!(write.runs_at.as_ref().unwrap().open_ends, ["mailer.core.send"]);
    // A write no request or task is known to make is left out of the counts by default
    // (and counted with what is left out), until another target's view calls it.
    let mailer_open = |include: bool| {
        let pool = pool.clone();
        async move {
            let rows = models::progress::by_target_in(&pool, include).await.unwrap();
            rows.into_iter().find(|r| r.name == "mailer").unwrap().progress.open
        }
    };
    let left_out = || {
        let pool = pool.clone();
        async move { models::progress::open_unreached(&pool, None).await.unwrap() }
    };
    assert_eq!((mailer_open(false).await, mailer_open(true).await, left_out().await), (0, 1, 2));
    let views = |body: &str| {
        format!("import mailer\nfrom django.http import HttpResponse\n\ndef order(request):\n{body}    return HttpResponse()\n")
    };
    let calling = views("    mailer.send('hi')\n");
    scan(shop, "shop", &[("shop/__init__.py", ""), ("shop/views.py", &calling)]).await;
    let mut conn = pool.acquire().await.unwrap();
    let summary = models::runs_at_via::recompute(&mut conn).await.unwrap();
    assert_eq!((summary.open_ends, summary.called), (2, 2));
    let via_of = |target: &'static str| {
        let pool = pool.clone();
        async move {
            let filter = FindingFilter { target: Some(target.into()), ..Default::default() };
            let id = models::findings::explore(&pool, &filter, None).await.unwrap().rows[0].id;
            models::findings::detail(&pool, id).await.unwrap().unwrap().runs_at_via
        }
    };
    let via = via_of("mailer").await.expect("called by shop's view");
    assert_eq!(via.at, "request");
    assert_eq!((mailer_open(false).await, left_out().await), (1, 0), "placed at request time: counted");
    assert_eq!(via.path, ["shop.views.order", "mailer.send", "mailer.core.send"]);
    assert!(via.why.contains("openedx/shop (`shop/views.py:5`) calls `mailer.send`"), "{}", via.why);
    // One package further: mailer's send calls lowlevel's push.
    let via = via_of("lowlevel").await.expect("called through mailer");
    assert_eq!(via.path, ["shop.views.order", "mailer.send", "mailer.core.send", "lowlevel.push"]);

    let quiet = views("");
    scan(shop, "shop", &[("shop/__init__.py", ""), ("shop/views.py", &quiet)]).await;
    let summary = models::runs_at_via::recompute(&mut conn).await.unwrap();
    assert_eq!((summary.open_ends, summary.called), (2, 0));
    assert!(via_of("mailer").await.is_none());
    assert!(via_of("lowlevel").await.is_none());
    assert_eq!((mailer_open(false).await, left_out().await), (0, 2), "left out again");
}
