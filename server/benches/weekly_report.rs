//! Weekly report benchmark: three weeks of history over 100,000 findings in 300 targets
//! (first scans, two weekly rescans each fixing 5 % and adding 1 %), 2,000 finding claims,
//! 50 target claims and 500 triage decisions, against a real throw-away PostgreSQL. Prints
//! how long building each week's report takes and how long each format takes to render.
//!
//! cargo bench -p unthread-server --bench weekly_report

use std::time::Instant;

use app::report::Format;
use chrono::{DateTime, Duration, TimeZone, Utc};
use db::models::{claims, triage};
use unthread_server::ingest::scan::{ingest, IncomingFinding, ScanInput};

// The integration tests' throw-away databases.
#[allow(dead_code)] // not every helper is needed here
#[path = "../tests/it/support/database.rs"]
mod database;
use database::fresh_database;

const TARGETS: usize = 300;
const PER_TARGET: usize = 334; // ~100,000 findings

fn finding(target: usize, i: usize) -> IncomingFinding {
    let module = i / 20;
    IncomingFinding {
        runs_at: None,
        fingerprint: format!("t{target}-f{i}"),
        content_fingerprint: Some(format!("t{target}-c{i}")),
        rule: format!("UT{:03}", 1 + i % 12),
        path: format!("pkg_{target}/module_{module}.py"),
        start_line: 10 + (i % 20) as i32 * 9,
        start_column: 5,
        end_line: 10 + (i % 20) as i32 * 9,
        end_column: 31,
        symbol: Some(format!("pkg_{target}.module_{module}.Class{}.method_{}", i % 5, i % 7)),
        message: "`threading.local()` keeps per-thread state".to_owned(),
        snippet: Some("        self._cache = threading.local()".to_owned()),
        conditional: false,
        suppressed: None,
        fix: None,
        context: None,
    }
}

/// Target `t`'s findings in week `w` (0, 1, 2): each rescan drops 5 % and adds 1 %.
fn week_findings(t: usize, w: usize) -> Vec<IncomingFinding> {
    (0..PER_TARGET + w * PER_TARGET / 100).filter(|i| !(1..=w).any(|k| i % 20 == k)).map(|i| finding(t, i)).collect()
}

fn monday(w: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap() + Duration::weeks(w as i64)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = fresh_database().await;
        let setup = Instant::now();
        let mut targets = Vec::new();
        for t in 0..TARGETS {
            let (kind, name) =
                if t < 20 { ("library", format!("openedx/repo-{t}")) } else { ("dependency", format!("package-{t}")) };
            targets.push(db::models::targets::upsert(&pool, kind.parse().unwrap(), &name).await.unwrap());
        }
        for w in 0..3 {
            for (t, target) in targets.iter().enumerate() {
                let input = ScanInput {
                    coverage: Default::default(),
                    target_id: *target,
                    revision: Some(format!("week-{w}")),
                    tool: "bench".into(),
                    tool_version: None,
                    complete: true,
                    files_scanned: 20,
                    unread_files: Vec::new(),
                    api_index: None,
                    imports: None,
                    finished_at: Some(monday(w) + Duration::seconds(t as i64)),
                    cause: None,
                    scope: None,
                    file_hashes: Default::default(),
                    calls_out: None,
                    findings: week_findings(t, w),
                };
                ingest(&pool, &input).await.unwrap();
            }
        }
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM findings WHERE fixed_in_scan IS NULL ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        let people: Vec<_> = futures::future::join_all((0..40).map(|i| {
            let pool = pool.clone();
            async move {
                let id: i64 =
                    sqlx::query_scalar("INSERT INTO users (login, role) VALUES ($1, 'maintainer') RETURNING id")
                        .bind(format!("person{i}"))
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                db::models::users::by_id(&pool, id).await.unwrap().unwrap()
            }
        }))
        .await;
        for (n, id) in ids.iter().step_by(ids.len() / 2_000).take(2_000).enumerate() {
            let at = monday(n % 3) + Duration::hours(1 + (n % 100) as i64);
            claims::claim_at(&pool, &people[n % 40], claims::Item::Finding(*id), at).await.unwrap();
        }
        for (n, target) in targets.iter().skip(100).take(50).enumerate() {
            let _ = claims::claim_at(
                &pool,
                &people[n % 40],
                claims::Item::Target(*target),
                monday(n % 3) + Duration::hours(3),
            )
            .await;
        }
        for (n, id) in ids.iter().skip(7).step_by(ids.len() / 500).take(500).enumerate() {
            let at = monday(n % 3) + Duration::hours(30);
            triage::set_at(&pool, &people[0], *id, db::kinds::Triage::FalsePositive, Some("bench"), at).await.unwrap();
        }
        sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
        let findings: i64 = sqlx::query_scalar("SELECT count(*) FROM findings").fetch_one(&pool).await.unwrap();
        println!("history: {findings} findings in {TARGETS} targets over 3 weeks, set up in {:.1?}", setup.elapsed());

        for week in ["2026-W45", "2026-W46", "2026-W47"] {
            let options = app::report::Options {
                week: week.parse().unwrap(),
                timezone: chrono_tz::UTC,
                stale_after_days: 14,
                base_url: "https://unthread.example.org".into(),
            };
            let mut times = Vec::new();
            let mut report = None;
            for _ in 0..5 {
                let start = Instant::now();
                report = Some(app::report::build(&pool, &options).await.unwrap());
                times.push(start.elapsed());
            }
            times.sort();
            let report = report.unwrap();
            let sizes: Vec<String> = Format::ALL
                .iter()
                .map(|format| {
                    let start = Instant::now();
                    let text = report.render(*format);
                    format!("{}{} {} KB in {:.1?}", report.week, format.suffix(), text.len() / 1024, start.elapsed())
                })
                .collect();
            println!(
                "{week}: build median {:.0?} (min {:.0?}, max {:.0?}); fixed {}, new {}; {}",
                times[2],
                times[0],
                times[4],
                report.headline.fixed_this_week,
                report.headline.new_this_week,
                sizes.join(", ")
            );
        }
    });
}
