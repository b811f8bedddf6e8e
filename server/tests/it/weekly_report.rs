//! The weekly report against a real PostgreSQL: a scripted three-week history (scans,
//! claims, assignments, triage, pull requests merged, sub-issues) gives the exact reports
//! kept under `tests/golden/weekly/` in every format; regenerating them after a fourth week
//! of activity gives the same bytes; the formats agree with each other, the JSON with its
//! schema, the CSV with a CSV reader, the Markdown with a Markdown parser; downloads and
//! posting to (a fake) GitHub.
//!
//! Regenerate the golden files after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p unthread-server --test weekly_report` and read the diff.

use crate::support::{create_user, fresh_database, TestApp};
use app::report::{Format, IsoWeek, WeeklyReport};
use chrono::{DateTime, TimeZone, Utc};
use db::models::{claims, triage};
use sqlx::PgPool;
use unthread_server::ingest::scan::{ingest, IncomingFinding, ScanInput};

const BASE_URL: &str = "https://unthread.example.org";
const WEEKS: [&str; 3] = ["2026-W45", "2026-W46", "2026-W47"];

use scanner::finding::{RunsAt, RunsAtPath};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn found(rule: &str, path: &str, symbol: &str, line: i32) -> IncomingFinding {
    // As a scan with the call graph says: a task's executor in a worker, a global written
    // by a view in a request, module-level objects "unknown" (made at import, used later).
    let (at, why) = match rule {
        "UT006" => (RunsAt::Worker, "a Celery task"),
        "UT010" => (RunsAt::Request, "a view (it takes the request)"),
        _ => (RunsAt::Unknown, "made at import, used wherever it is imported"),
    };
    IncomingFinding {
        runs_at: Some(RunsAtPath { at, why: why.into(), path: vec![symbol.to_owned()], open_ends: Vec::new() }),
        fingerprint: format!("{rule}:{path}:{symbol}"),
        content_fingerprint: Some(format!("{rule}:{symbol}")),
        end_column: 20,
        symbol: Some(symbol.into()),
        message: format!("{rule} in {symbol}"),
        snippet: Some(format!("{symbol} = threading.local()")),
        ..crate::support::finding(rule, path, line)
    }
}

async fn scan(pool: &PgPool, target_id: i64, when: DateTime<Utc>, findings: Vec<IncomingFinding>) {
    let input = ScanInput {
        revision: Some(format!("rev-{}", when.timestamp())),
        tool: "unthread-scan".into(),
        tool_version: Some("test".into()),
        files_scanned: 10,
        finished_at: Some(when),
        cause: None,
        ..crate::support::scan_input(target_id, findings)
    };
    ingest(pool, &input).await.expect("ingest");
}

async fn finding_id(pool: &PgPool, symbol: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM findings WHERE symbol = $1").bind(symbol).fetch_one(pool).await.unwrap()
}

/// What the GitHub sync would have stored: an issue of the epic's repository.
async fn sub_issue(
    pool: &PgPool,
    id: i64,
    number: i32,
    title: &str,
    created: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
) {
    sqlx::query(
        "INSERT INTO gh_issues (id, repository, number, title, state, html_url, author, parent_repository, parent_number, created_at, updated_at, closed_at)
         VALUES ($1, 'openedx/openedx-platform', $2, $3, $4, $5, 'ana', 'openedx/openedx-platform', 38680, $6, coalesce($7, $6), $7)",
    )
    .bind(id)
    .bind(number)
    .bind(title)
    .bind(if closed.is_some() { "closed" } else { "open" })
    .bind(format!("https://github.com/openedx/openedx-platform/issues/{number}"))
    .bind(created)
    .bind(closed)
    .execute(pool)
    .await
    .unwrap();
}

/// A pull request as synced, linked to `finding` from `created`.
async fn pull(
    pool: &PgPool,
    id: i64,
    number: i32,
    title: &str,
    finding: i64,
    created: DateTime<Utc>,
    merged: Option<DateTime<Utc>>,
) {
    sqlx::query(
        "INSERT INTO gh_pulls (id, repository, number, title, state, merged, merged_at, html_url, author, created_at, updated_at, closed_at, files)
         VALUES ($1, 'openedx/openedx-platform', $2, $3, $4, $5, $6, $7, 'bilal', $8, coalesce($6, $8), $6, '{}')",
    )
    .bind(id)
    .bind(number)
    .bind(title)
    .bind(if merged.is_some() { "closed" } else { "open" })
    .bind(merged.is_some())
    .bind(merged)
    .bind(format!("https://github.com/openedx/openedx-platform/pull/{number}"))
    .bind(created)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO links (finding_id, pull_id, how, created_at) VALUES ($1, $2, 'explicit', $3)")
        .bind(finding)
        .bind(id)
        .bind(created)
        .execute(pool)
        .await
        .unwrap();
}

const P_CACHE: &str = "lms/djangoapps/courseware/cache.py";
const P_MEMCACHE: &str = "common/djangoapps/util/memcache.py";
const P_UTILS: &str = "openedx/core/lib/cache_utils.py";
const P_CONTEXT: &str = "openedx/core/lib/context.py";
const P_TASKS: &str = "lms/djangoapps/grades/tasks.py";

fn platform_findings(with_request_cache: bool, with_tasks: bool) -> Vec<IncomingFinding> {
    let mut all = vec![];
    if with_request_cache {
        all.push(found("UT001", P_CACHE, "courseware.cache._RequestCache", 12));
    }
    all.push(found("UT003", P_MEMCACHE, "util.memcache._thread_locals", 8));
    all.push(found("UT010", P_UTILS, "cache_utils._CACHE", 21));
    all.push(found("UT100", P_CONTEXT, "context.current_request", 5));
    if with_tasks {
        all.push(found("UT006", P_TASKS, "grades.tasks.recalculate", 40));
    }
    all
}

/// Three weeks (2026-W45..W47) of a migration, told through the real write paths.
async fn three_weeks(pool: &PgPool) -> (i64, i64, i64) {
    let platform =
        db::models::targets::upsert(pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
    let library =
        db::models::targets::upsert(pool, db::kinds::TargetKind::Library, "openedx/edx-django-utils").await.unwrap();
    let crum = db::models::targets::upsert(pool, db::kinds::TargetKind::Dependency, "django-crum").await.unwrap();
    // The platform's requirements pin django-crum (what `scan --requirements` records).
    sqlx::query(
        "WITH p AS (INSERT INTO packages (name) VALUES ('django-crum') RETURNING id),
              rf AS (INSERT INTO requirement_files (target_id, path) VALUES ($1, 'requirements/edx/base.txt') RETURNING id),
              tp AS (INSERT INTO target_packages (target_id, package_id) SELECT $2, id FROM p)
         INSERT INTO package_pins (requirement_file_id, package_id, version, line) SELECT rf.id, p.id, '0.7.9', 3 FROM rf, p",
    )
    .bind(platform)
    .bind(crum)
    .execute(pool)
    .await
    .unwrap();
    let ana = create_user(pool, "ana", "maintainer").await;
    let bilal = create_user(pool, "bilal", "contributor").await;
    let chen = create_user(pool, "chen", "contributor").await;

    // Week 45: first scans, claims, an assignment.
    scan(pool, platform, at(2, 10), platform_findings(true, false)).await;
    scan(
        pool,
        library,
        at(2, 11),
        vec![
            found("UT001", "edx_django_utils/cache/utils.py", "cache.utils.RequestCache", 30),
            found("UT005", "edx_django_utils/monitoring/utils.py", "monitoring.utils._local", 14),
        ],
    )
    .await;
    scan(pool, crum, at(2, 12), vec![found("UT001", "crum/__init__.py", "crum._thread_locals", 9)]).await;
    let request_cache = finding_id(pool, "courseware.cache._RequestCache").await;
    let library_cache = finding_id(pool, "cache.utils.RequestCache").await;
    let monitoring = finding_id(pool, "monitoring.utils._local").await;
    claims::claim_at(pool, &bilal, claims::Item::Finding(request_cache), at(3, 9)).await.unwrap();
    claims::claim_at(pool, &chen, claims::Item::Finding(library_cache), at(3, 10)).await.unwrap();
    claims::claim_at(pool, &chen, claims::Item::Target(crum), at(4, 9)).await.unwrap();
    claims::assign_at(pool, &ana, claims::Item::Finding(monitoring), "bilal", at(5, 9)).await.unwrap();
    sub_issue(pool, 9001, 38701, "Replace _RequestCache's thread local | courseware, \"cache\" <b>", at(6, 9), None)
        .await;

    // Week 46: a pull request fixes the request cache; the rescan sees it gone and a new
    // finding; a false positive; a release.
    pull(
        pool,
        8001,
        38710,
        "Use a ContextVar in courseware's cache, finally",
        request_cache,
        at(10, 9),
        Some(at(11, 15)),
    )
    .await;
    scan(pool, platform, at(12, 10), platform_findings(false, true)).await;
    let cache_utils = finding_id(pool, "cache_utils._CACHE").await;
    triage::set_at(
        pool,
        &ana,
        cache_utils,
        db::kinds::Triage::FalsePositive,
        Some("Filled at import time, never mutated after; see \"cache_utils\", line 21\nchecked twice"),
        at(13, 9),
    )
    .await
    .unwrap();
    claims::unclaim_at(pool, &bilal, claims::Item::Finding(monitoring), at(14, 9)).await.unwrap();

    // Week 47: django-crum's release without thread locals; the sub-issue closes; chen claims.
    scan(pool, crum, at(16, 10), vec![]).await;
    sqlx::query("UPDATE gh_issues SET state = 'closed', closed_at = $1, updated_at = $1 WHERE id = 9001")
        .bind(at(18, 9))
        .execute(pool)
        .await
        .unwrap();
    let memcache = finding_id(pool, "util.memcache._thread_locals").await;
    claims::claim_at(pool, &chen, claims::Item::Finding(memcache), at(19, 9)).await.unwrap();
    (platform, library, crum)
}

/// Week 48: activity after the reported weeks, which must not change them.
async fn a_fourth_week(pool: &PgPool, platform: i64) {
    let ana = db::models::users::by_login(pool, "ana").await.unwrap().unwrap();
    let chen = db::models::users::by_login(pool, "chen").await.unwrap().unwrap();
    let library_cache = finding_id(pool, "cache.utils.RequestCache").await;
    let memcache = finding_id(pool, "util.memcache._thread_locals").await;
    let tasks = finding_id(pool, "grades.tasks.recalculate").await;
    let cache_utils = finding_id(pool, "cache_utils._CACHE").await;
    pull(pool, 8002, 38720, "Memcache: contextvars", memcache, at(23, 9), Some(at(24, 9))).await;
    let mut rescan = platform_findings(false, true);
    rescan.retain(|f| f.path != P_MEMCACHE);
    for f in &mut rescan {
        f.start_line += 3; // lines inserted above every finding
        f.end_line += 3;
    }
    scan(pool, platform, at(24, 12), rescan).await;
    claims::unclaim_at(pool, &chen, claims::Item::Finding(library_cache), at(24, 13)).await.unwrap();
    triage::set_at(pool, &ana, tasks, db::kinds::Triage::WontFix, Some("runs in a worker"), at(25, 9)).await.unwrap();
    triage::set_at(pool, &ana, cache_utils, db::kinds::Triage::Open, None, at(25, 10)).await.unwrap();
    sub_issue(pool, 9002, 38730, "Audit celery tasks", at(25, 11), None).await;
}

async fn report(pool: &PgPool, week: &str) -> WeeklyReport {
    let options = app::report::Options {
        week: week.parse().unwrap(),
        timezone: chrono_tz::UTC,
        stale_after_days: 14,
        base_url: BASE_URL.into(),
    };
    app::report::build(pool, &options).await.unwrap()
}

fn golden_path(dir: &str, file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(dir).join(file)
}

fn check_golden(report: &WeeklyReport) {
    check_golden_in("weekly", report);
}

fn check_golden_in(dir: &str, report: &WeeklyReport) {
    for format in Format::ALL {
        let file = report.file_name(format);
        let actual = report.render(format);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden_path(dir, "")).unwrap();
            std::fs::write(golden_path(dir, &file), &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(golden_path(dir, &file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(actual, expected, "{dir}/{file} differs from its golden copy");
    }
}

/// The demo's real history (openedx/XBlock#934 merged 2026-07-08, the epic's items filed
/// 2026-06-03): the week the epic started and the week of the fix, kept as golden reports.
#[tokio::test]
async fn the_demo_weeks_give_their_golden_reports() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();
    let start = report(&pool, "2026-W23").await;
    assert_eq!(
        start.github.sub_issues_opened.len(),
        13,
        "13 of the 14 sub-issues were filed that week (#38740 the next)"
    );
    assert!(start.filed.filed > 0 && start.filed.found > start.filed.filed, "{:?}", start.filed);
    check_golden_in("demo", &start);
    let fix = report(&pool, "2026-W28").await;
    let fixed: Vec<(&str, &str)> =
        fix.fixed.iter().map(|f| (f.finding.target.as_str(), f.finding.rule.as_str())).collect();
    assert!(fixed.contains(&("openedx/XBlock", "UT003")), "{fixed:?}");
    let pulls: Vec<i32> = fix.github.pull_requests_merged.iter().map(|p| p.number).collect();
    assert_eq!(pulls, [934]);
    assert_eq!(fix.github.sub_issues_closed.iter().map(|i| i.number).collect::<Vec<_>>(), [918]);
    check_golden_in("demo", &fix);
    // The post reads in a screen or two: about 40 lines outside the folded tables (the
    // campaign's first week, with 13 sub-issues filed, a few more).
    for week in [&start, &fix] {
        let markdown = std::fs::read_to_string(golden_path("demo", &format!("{}.md", week.week))).unwrap();
        let mut folded = false;
        let visible = markdown
            .lines()
            .filter(|line| {
                let shown = !folded && !line.starts_with("<details>");
                folded = (folded || line.starts_with("<details>")) && !line.starts_with("</details>");
                shown
            })
            .count();
        assert!(visible <= 45, "{}: {visible} lines outside <details>", week.week);
    }
}

#[tokio::test]
async fn three_scripted_weeks_give_the_golden_reports_and_later_activity_changes_none() {
    let pool = fresh_database().await;
    let (platform, _, _) = three_weeks(&pool).await;
    let mut first = Vec::new();
    for week in WEEKS {
        let report = report(&pool, week).await;
        check_golden(&report);
        first.push(report);
    }
    a_fourth_week(&pool, platform).await;
    for (week, before) in WEEKS.iter().zip(&first) {
        let again = report(&pool, week).await;
        for format in Format::ALL {
            assert_eq!(again.render(format), before.render(format), "{week} {format:?} changed after later activity");
        }
    }
    // The fourth week saw its own changes.
    let fourth = report(&pool, "2026-W48").await;
    assert_eq!(fourth.headline.fixed_this_week, 1);
    assert_eq!(fourth.fixed[0].pull_request.as_ref().unwrap().number, 38720);
    assert_eq!(fourth.fixed[0].fixed_by.as_deref(), Some("chen"));
    assert_eq!(fourth.github.sub_issues_opened.len(), 1);
}

#[tokio::test]
async fn the_weeks_say_what_happened() {
    let pool = fresh_database().await;
    three_weeks(&pool).await;
    let w45 = report(&pool, "2026-W45").await;
    let h = &w45.headline;
    // 7 findings: 6 open in scope, all new; 1 UT100 (information: neither done nor new).
    assert_eq!((h.open, h.done, h.total, h.new_this_week, h.fixed_this_week), (6, 0, 6, 6, 0));
    assert_eq!(h.migrated, 1);
    assert_eq!(h.open_change, 6);
    let changes: Vec<(&str, &str, &str)> =
        w45.ownership.iter().map(|c| (c.change.as_str(), c.owner.as_str(), c.by.as_str())).collect();
    assert_eq!(
        changes,
        [
            ("claimed", "bilal", "bilal"),
            ("claimed", "chen", "chen"),
            ("claimed", "chen", "chen"),
            ("assigned", "bilal", "ana")
        ]
    );
    assert_eq!(w45.github.sub_issues_opened.len(), 1);
    assert_eq!(w45.blocking_dependencies[0].name, "django-crum");
    assert_eq!(w45.blocking_dependencies[0].repositories, ["openedx/openedx-platform"]);

    let w46 = report(&pool, "2026-W46").await;
    let h = &w46.headline;
    // The request cache fixed, the grades task new, cache_utils triaged away.
    assert_eq!((h.open, h.fixed_this_week, h.new_this_week, h.triaged_away), (5, 1, 1, 1));
    assert_eq!((h.open_change, h.triaged_away_change), (-1, 1));
    let fixed = &w46.fixed[0];
    assert_eq!(fixed.finding.path, P_CACHE);
    assert_eq!(fixed.fixed_by.as_deref(), Some("bilal"));
    assert_eq!(fixed.pull_request.as_ref().unwrap().number, 38710);
    assert_eq!(w46.triaged[0].to, "false_positive");
    assert_eq!(w46.ownership.iter().map(|c| c.change.as_str()).collect::<Vec<_>>(), ["released"]);
    assert!(w46.stale_claims.is_empty(), "{:?}", w46.stale_claims);

    let w47 = report(&pool, "2026-W47").await;
    assert_eq!(w47.headline.fixed_this_week, 1);
    assert_eq!(w47.fixed[0].finding.target, "django-crum");
    assert_eq!(w47.fixed[0].fixed_by.as_deref(), Some("chen"), "chen owned the whole target");
    assert!(w47.fixed[0].pull_request.is_none());
    assert!(w47.blocking_dependencies.is_empty(), "django-crum has nothing open any more");
    assert_eq!(w47.github.sub_issues_closed.len(), 1);
    // chen's claim on the library's request cache: no activity since 3 November.
    let stale: Vec<(&str, i64)> = w47.stale_claims.iter().map(|s| (s.owner.as_str(), s.idle_days)).collect();
    assert_eq!(stale, [("chen", 19)]);
    let crum_row = w47.targets.iter().find(|t| t.name == "django-crum").unwrap();
    assert_eq!((crum_row.open, crum_row.open_change, crum_row.fixed, crum_row.percent_done), (0, -1, 1, 100.0));
    assert_eq!(w47.targets.last().unwrap().kind, "dependency", "repositories first");
}

#[tokio::test]
async fn the_current_week_ends_where_the_dashboard_stands() {
    let pool = fresh_database().await;
    let (platform, _, _) = three_weeks(&pool).await;
    a_fourth_week(&pool, platform).await;
    let options = app::report::Options {
        week: IsoWeek::containing(Utc::now(), chrono_tz::UTC),
        timezone: chrono_tz::UTC,
        stale_after_days: 14,
        base_url: BASE_URL.into(),
    };
    let now = app::report::build(&pool, &options).await.unwrap();
    let dashboard = db::models::progress::overall(&db::models::progress::by_target(&pool).await.unwrap());
    assert_eq!(now.headline.open, dashboard.open);
    assert_eq!(now.headline.fixed, dashboard.fixed);
    assert_eq!(now.headline.done, dashboard.done());
    assert_eq!(now.headline.total, dashboard.total());
    assert_eq!(now.headline.triaged_away, dashboard.triaged_away);
    assert_eq!(now.headline.migrated, dashboard.migrated);
    assert_eq!(now.headline.tests_open, dashboard.tests_open);
    assert_eq!(now.headline.percent_done, (dashboard.percent_done().unwrap_or(0.0) * 10.0).round() / 10.0);
}

#[tokio::test]
async fn the_formats_agree_and_each_parses() {
    let pool = fresh_database().await;
    three_weeks(&pool).await;
    let schema: serde_json::Value = serde_json::from_str(app::report::JSON_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for week in WEEKS {
        let report = report(&pool, week).await;

        // JSON: valid against the schema, and the same report when read back.
        let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
        let errors: Vec<String> = validator.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path)).collect();
        assert!(errors.is_empty(), "{week}: {errors:?}");
        let back: WeeklyReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);

        // Targets CSV: one row per target with the JSON's numbers.
        let csv_text = report.render(Format::Csv);
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), report.targets.len());
        for (row, target) in rows.iter().zip(&report.targets) {
            assert_eq!(&row[0], week);
            assert_eq!(&row[1], target.name);
            assert_eq!(row[3].parse::<i64>().unwrap(), target.open);
            assert_eq!(row[4].parse::<i64>().unwrap(), target.open_change);
            assert_eq!(row[5].parse::<i64>().unwrap(), target.fixed);
            assert_eq!(row[8].parse::<i64>().unwrap(), target.tests_open);
            assert_eq!(row[9].parse::<i64>().unwrap(), target.total);
            assert_eq!(row[10].parse::<f64>().unwrap(), target.percent_done);
        }

        // Changes CSV: every change of the JSON, once, with text that survived quoting.
        let changes_text = report.render(Format::ChangesCsv);
        let mut reader = csv::Reader::from_reader(changes_text.as_bytes());
        let changes: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let count = |kind: &str| changes.iter().filter(|r| &r[2] == kind).count();
        assert_eq!(count("new"), report.new.len());
        assert_eq!(count("fixed"), report.fixed.len());
        assert_eq!(count("reopened"), report.reopened.len());
        assert_eq!(count("triaged"), report.triaged.len());
        assert_eq!(count("claimed") + count("assigned") + count("released"), report.ownership.len());
        for t in &report.triaged {
            let row = changes.iter().find(|r| &r[2] == "triaged" && r[3] == t.finding.id.to_string()).unwrap();
            assert_eq!(Some(&row[12]), t.reason.as_deref(), "a reason with commas, quotes and a newline");
        }
        for f in &report.fixed {
            let row = changes.iter().find(|r| &r[2] == "fixed" && r[3] == f.finding.id.to_string()).unwrap();
            assert_eq!(&row[14], f.pull_request.as_ref().map(|p| p.title.as_str()).unwrap_or_default());
        }

        // Markdown: parses, holds tables, no raw HTML, a link to every fixed finding and
        // the headline numbers.
        let markdown = report.render(Format::Markdown);
        let mut tables = 0;
        let mut links = Vec::new();
        let mut text = String::new();
        for event in pulldown_cmark::Parser::new_ext(&markdown, pulldown_cmark::Options::ENABLE_TABLES) {
            match event {
                pulldown_cmark::Event::Start(pulldown_cmark::Tag::Table(_)) => tables += 1,
                pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link { dest_url, .. }) => {
                    links.push(dest_url.to_string())
                }
                // Only the report's own fold of its tables: no HTML from outside text.
                pulldown_cmark::Event::Html(html) | pulldown_cmark::Event::InlineHtml(html) => {
                    let html = html.trim();
                    let fold = html.starts_with("<details><summary>Numbers:") && html.ends_with("</summary>")
                        || html == "</details>";
                    assert!(fold, "{week}: raw HTML in the Markdown: {html}")
                }
                pulldown_cmark::Event::Text(t) | pulldown_cmark::Event::Code(t) => text.push_str(&t),
                _ => {}
            }
        }
        assert!(tables >= 2, "{week}: {tables} tables");
        for f in report.fixed.iter().map(|f| &f.finding).chain(&report.new) {
            assert!(links.contains(&f.url), "{week}: no link to {}", f.url);
        }
        for issue in &report.github.sub_issues_opened {
            assert!(text.contains(&issue.title), "{week}: the title {:?} reads as typed", issue.title);
        }
        let h = &report.headline;
        let headline = format!("{} fixed of {}", db::progress::thousands(h.fixed), db::progress::thousands(h.total));
        assert!(text.contains(&headline), "{week}: {headline}");
        assert!(text.contains(&format!("{}%", h.percent_done)), "{week}");
    }
}

#[tokio::test]
async fn reports_are_downloaded_over_http_and_bad_requests_are_refused() {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;
    let pool = fresh_database().await;
    three_weeks(&pool).await;
    let router = TestApp::new(&pool)
        .with(|s| s.reports = app::state::ReportSettings { base_url: BASE_URL.into(), ..Default::default() })
        .build();
    let get = |uri: &str| {
        let router = router.clone();
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap();
            (status, headers, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let expected = report(&pool, "2026-W47").await;
    for format in Format::ALL {
        let (status, headers, body) = get(&format!("/reports/weekly/{}", expected.file_name(format))).await;
        assert_eq!(status, 200, "{format:?}: {body}");
        assert_eq!(headers["content-type"], format.content_type());
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert_eq!(body, expected.render(format), "{format:?}");
    }
    let (status, _, body) = get("/reports/weekly/2026-W47.json?tz=Europe/Paris").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"starts_at\": \"2026-11-15T23:00:00Z\""), "{body}");
    for (uri, status) in [
        ("/reports/weekly/2026-W99.md", 400),
        ("/reports/weekly/last-week.md", 400),
        ("/reports/weekly/2026-W47.pdf", 404),
        ("/reports/weekly/2026-W47.md?tz=Mars/Olympus", 400),
    ] {
        let (actual, _, body) = get(uri).await;
        assert_eq!(actual, status, "{uri}: {body}");
        assert!(!body.is_empty());
    }
    let (status, _, schema) = get("/reports/weekly/schema.json").await;
    assert_eq!(status, 200);
    assert_eq!(schema, app::report::JSON_SCHEMA);
    // The page previews the report.
    let (status, _, page) = get("/reports/weekly?week=2026-W47").await;
    assert_eq!(status, 200);
    assert!(page.contains("Unthread weekly status: 2026-W47"), "{page}");
    assert!(page.contains("href=\"/reports/weekly/2026-W47.csv?tz=UTC\""), "{page}");
    let (status, _, page) = get("/reports/weekly?week=garbage").await;
    assert!(page.contains("is not an ISO week"), "{status} {page}");
}

#[tokio::test]
async fn export_weekly_writes_each_format_and_refuses_bad_arguments() {
    let pool = fresh_database().await;
    three_weeks(&pool).await;
    let url = crate::support::database_url(&pool);
    let dir = tempfile::tempdir().unwrap();
    let unthread = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_unthread"))
            .args(["--database-url", &url, "export", "weekly", "--report-base-url", BASE_URL])
            .args(args)
            .env_remove("UNTHREAD_PUBLIC_URL")
            .output()
            .unwrap()
    };
    for (name, golden) in [
        ("md", "2026-W46.md"),
        ("csv", "2026-W46.csv"),
        ("changes-csv", "2026-W46-changes.csv"),
        ("json", "2026-W46.json"),
    ] {
        let out = dir.path().join(golden);
        let output = unthread(&["--week", "2026-W46", "--format", name, "--out", out.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            std::fs::read_to_string(golden_path("weekly", golden)).unwrap()
        );
    }
    let output = unthread(&["--week", "2026-W47"]);
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("--report-base-url"), "a public URL was given");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        std::fs::read_to_string(golden_path("weekly", "2026-W47.md")).unwrap()
    );
    // Without a public URL the links point to this machine, and the command says so.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_unthread"))
        .args(["--database-url", &url, "export", "weekly", "--week", "2026-W47"])
        .env_remove("UNTHREAD_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http://127.0.0.1:3000") && stderr.contains("--report-base-url"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("(http://127.0.0.1:3000/findings/"));
    for (args, message) in [
        (&["--week", "2026-W60"][..], "has no week 60"),
        (&["--week", "last"][..], "is not an ISO week"),
        (&["--week", "2026-W47", "--format", "pdf"][..], "unknown format"),
        (&["--week", "2026-W47", "--report-timezone", "Mars/Olympus"][..], "unknown timezone"),
        (&["--week", "2026-W47", "--post", "not-an-issue"][..], "not an issue reference"),
    ] {
        let output = unthread(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

mod posting {
    use super::*;
    use app::report::publish::PostMode;
    use unthread_server::github::{GitHub, IssueRef};
    use wiremock::{
        matchers::{method, path},
        Mock, MockServer, ResponseTemplate,
    };

    fn fixture() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/github/rest.repos.issues.comments.create.201.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("the GitHub fixtures beside the project")).unwrap()
    }

    async fn posts(pool: &PgPool) -> Vec<(String, i64, Option<String>)> {
        sqlx::query_as("SELECT week, comment_id, posted_by FROM report_posts ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_week_is_posted_once_updated_on_request_and_forced_only_when_asked() {
        let pool = fresh_database().await;
        three_weeks(&pool).await;
        let github_server = MockServer::start().await;
        let comment = fixture();
        Mock::given(method("POST"))
            .and(path("/repos/openedx/openedx-platform/issues/38680/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(&comment))
            .expect(2)
            .mount(&github_server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("/repos/openedx/openedx-platform/issues/comments/{}", comment["id"])))
            .respond_with(ResponseTemplate::new(200).set_body_json(&comment))
            .expect(1)
            .mount(&github_server)
            .await;
        let github = GitHub::new(pool.clone(), &github_server.uri(), Some("t0ken".into())).unwrap();
        let issue: IssueRef = "openedx/openedx-platform#38680".parse().unwrap();
        let markdown = report(&pool, "2026-W47").await.render(Format::Markdown);
        let post = |mode, text: String| {
            let (pool, github, issue) = (pool.clone(), &github, issue.clone());
            async move {
                unthread_server::jobs::weekly_report::post(&pool, github, &issue, "2026-W47", &text, mode, Some("ana"))
                    .await
            }
        };

        let first = post(PostMode::Once, markdown.clone()).await.unwrap();
        assert_eq!(first.action, "posted");
        assert_eq!(first.url, comment["html_url"].as_str().unwrap());
        let again = post(PostMode::Once, markdown.clone()).await.unwrap_err();
        assert!(again.conflict && again.message.contains("already posted"), "{again:?}");
        let same = post(PostMode::Update, markdown.clone()).await.unwrap();
        assert_eq!(same.action, "unchanged", "the same text is not sent again");
        let edited = post(PostMode::Update, format!("{markdown}\nCorrected.\n")).await.unwrap();
        assert_eq!(edited.action, "updated");
        let forced = post(PostMode::Force, markdown.clone()).await.unwrap();
        assert_eq!(forced.action, "posted");
        assert_eq!(posts(&pool).await.len(), 2);
        assert_eq!(posts(&pool).await[0].2.as_deref(), Some("ana"));
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'report.posted'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(events, 3);
        github_server.verify().await;
    }

    #[tokio::test]
    async fn maintainers_post_from_the_page_and_others_are_refused() {
        use axum::{body::Body, http::Request};
        use tower::ServiceExt;
        let pool = fresh_database().await;
        three_weeks(&pool).await;
        let github_server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/repos/openedx/openedx-platform/issues/38680/comments"))
            .respond_with(ResponseTemplate::new(201).set_body_json(fixture()))
            .expect(1)
            .mount(&github_server)
            .await;
        let publisher = unthread_server::jobs::weekly_report::GitHubPublisher {
            pool: pool.clone(),
            github: GitHub::new(pool.clone(), &github_server.uri(), Some("t0ken".into())).unwrap(),
            issue: "openedx/openedx-platform#38680".parse().unwrap(),
        };
        let settings = unthread_server::router::Settings {
            auth: unthread_server::auth::AuthConfig {
                public_url: BASE_URL.into(),
                dev_login: true,
                ..Default::default()
            },
            reports: app::state::ReportSettings {
                base_url: BASE_URL.into(),
                publisher: Some(std::sync::Arc::new(publisher)),
                ..Default::default()
            },
            ..Default::default()
        };
        let router = TestApp::new(&pool).with(|s| *s = settings).build();
        let send = |request: Request<Body>| {
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await.unwrap();
                let status = response.status().as_u16();
                let body = axum::body::to_bytes(response.into_body(), 10 << 20).await.unwrap();
                (status, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let post = |cookie: Option<&str>| {
            let mut request =
                Request::post("/api/post_weekly_report").header("content-type", "application/x-www-form-urlencoded");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.body(Body::from("week=2026-W47&tz=UTC&mode=once")).unwrap()
        };
        let page = |cookie: Option<&str>| {
            let mut request = Request::get("/reports/weekly?week=2026-W47");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.body(Body::empty()).unwrap()
        };
        let contributor = crate::support::sign_in(&router, "bilal", "contributor").await;
        let maintainer = crate::support::sign_in(&router, "ana", "maintainer").await;

        assert_eq!(send(post(None)).await.0, 401);
        assert_eq!(send(post(Some(&contributor))).await.0, 403);
        assert!(!send(page(Some(&contributor))).await.1.contains("Post as a comment"));
        assert!(send(page(Some(&maintainer))).await.1.contains("Post as a comment on openedx/openedx-platform#38680"));
        let (status, body) = send(post(Some(&maintainer))).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"posted\""), "{body}");
        let (status, body) = send(post(Some(&maintainer))).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("already posted"), "{body}");
        assert_eq!(posts(&pool).await, [("2026-W47".to_owned(), 1, Some("ana".to_owned()))]);
        // The page the plain form returns to says where the week's report now is.
        let (_, page) = send(page(Some(&maintainer))).await;
        assert!(page.contains("data-testid=\"posted\"") && page.contains("https://github.com/"), "{page}");
        github_server.verify().await;
    }

    #[tokio::test]
    async fn a_refused_post_records_nothing() {
        let pool = fresh_database().await;
        let github_server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
                "message": "Resource not accessible by personal access token"
            })))
            .mount(&github_server)
            .await;
        let github = GitHub::new(pool.clone(), &github_server.uri(), Some("t0ken".into())).unwrap();
        let issue: IssueRef = "openedx/openedx-platform#38680".parse().unwrap();
        let err = unthread_server::jobs::weekly_report::post(
            &pool,
            &github,
            &issue,
            "2026-W47",
            "report",
            PostMode::Once,
            None,
        )
        .await
        .unwrap_err();
        assert!(!err.conflict);
        assert!(err.message.contains("Resource not accessible"), "{err:?}");
        assert!(posts(&pool).await.is_empty());
        // Nothing recorded, so the same week can be posted once the token is fixed.
        github_server.reset().await;
        let comment = fixture();
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(&comment))
            .mount(&github_server)
            .await;
        let ok = unthread_server::jobs::weekly_report::post(
            &pool,
            &github,
            &issue,
            "2026-W47",
            "report",
            PostMode::Once,
            None,
        )
        .await
        .unwrap();
        assert_eq!(ok.action, "posted");
    }

    #[tokio::test]
    async fn the_schedule_exports_each_week_once_across_processes() {
        let pool = fresh_database().await;
        three_weeks(&pool).await;
        let dir = tempfile::tempdir().unwrap();
        let export = unthread_server::jobs::weekly_report::ScheduledExport {
            schedule: "mon 09:00".parse().unwrap(),
            options: app::report::Options {
                week: "2026-W47".parse().unwrap(),
                timezone: chrono_tz::UTC,
                stale_after_days: 14,
                base_url: BASE_URL.into(),
            },
            directory: Some(dir.path().join("reports")),
            publisher: None,
        };
        let week: IsoWeek = "2026-W47".parse().unwrap();
        let (a, b) = tokio::join!(
            unthread_server::jobs::weekly_report::run_once(&pool, &export, week),
            unthread_server::jobs::weekly_report::run_once(&pool, &export, week)
        );
        let done: Vec<Option<String>> = vec![a.unwrap(), b.unwrap()];
        assert_eq!(done.iter().filter(|d| d.is_some()).count(), 1, "{done:?}");
        let expected = report(&pool, "2026-W47").await;
        for format in Format::ALL {
            let written = std::fs::read_to_string(dir.path().join("reports").join(expected.file_name(format))).unwrap();
            assert_eq!(written, expected.render(format));
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty());
    }
}

/// "Filed, nobody assigned" replays: an issue's assignees over time are the changes a sync
/// saw (recorded at the issue's `updated_at`), so a week before the assignment lists the
/// issue and a week after it does not, whenever the report is made.
#[tokio::test]
async fn nobody_assigned_is_as_of_the_weeks_end() {
    use db::models::github::{upsert_issue, IssueRecord, ParentIssue};
    let pool = fresh_database().await;
    let record = |assignees: Vec<String>, updated: DateTime<Utc>| IssueRecord {
        id: 7,
        repository: "openedx/openedx-platform",
        number: 38698,
        title: "Investigate/replace GlobalParserTLS thread local",
        body: None,
        state: "open",
        state_reason: None,
        html_url: "https://github.com/openedx/openedx-platform/issues/38698",
        author: Some("ormsbee"),
        assignees,
        labels: Vec::new(),
        created_at: at(3, 9),
        updated_at: updated,
        closed_at: None,
    };
    let parent = Some(ParentIssue { repository: "openedx/openedx-platform", number: 38680 });
    let mut db = pool.acquire().await.unwrap();
    upsert_issue(&mut db, &record(Vec::new(), at(3, 9)), parent).await.unwrap();
    // Assigned in the second week (the sync that saw it ran later still).
    upsert_issue(&mut db, &record(vec!["ana".into()], at(12, 10)), parent).await.unwrap();
    // Seen again unchanged: no second change.
    upsert_issue(&mut db, &record(vec!["ana".into()], at(13, 10)), parent).await.unwrap();
    drop(db);
    let changes: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'github.assignees'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(changes, 1);
    let numbers = |r: &WeeklyReport| r.unassigned_sub_issues.iter().map(|i| i.number).collect::<Vec<_>>();
    assert_eq!(numbers(&report(&pool, "2026-W45").await), [38698], "nobody assigned at the first week's end");
    assert!(numbers(&report(&pool, "2026-W46").await).is_empty(), "assigned by the second week's end");
}
