//! Ingestion benchmark: 100,000 findings into a target that already has 100,000 — half
//! unchanged, a quarter moved, a quarter gone (replaced by new ones) — against a real
//! throw-away PostgreSQL. Prints the wall time of each run; target: under 2 s.
//!
//! cargo bench -p unthread-server --bench ingest

use std::time::Instant;

use unthread_server::ingest::scan::{ingest, IncomingFinding, ScanInput};

// The integration tests' throw-away databases.
#[allow(dead_code)] // not every helper is needed here
#[path = "../tests/it/support/database.rs"]
mod database;
use database::fresh_database;

const N: usize = 100_000;

fn finding(i: usize, line_shift: i32) -> IncomingFinding {
    let module = i / 40;
    IncomingFinding {
        runs_at: None,
        fingerprint: format!("{:032x}", (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)),
        content_fingerprint: Some(format!(
            "{:032x}",
            (i as u128).wrapping_mul(0xC2B2_AE3D_27D4_EB4F_1656_67B1_9E37_79F9)
        )),
        rule: format!("UT{:03}", 1 + i % 12),
        path: format!("lms/djangoapps/app_{}/module_{module}.py", module % 97),
        start_line: 10 + (i % 40) as i32 * 7 + line_shift,
        start_column: 5,
        end_line: 10 + (i % 40) as i32 * 7 + line_shift,
        end_column: 31,
        symbol: Some(format!("lms.djangoapps.app_{}.module_{module}.Class{}.method_{}", module % 97, i % 5, i % 11)),
        message: "`threading.local()` keeps per-thread state, which leaks between requests under ASGI".to_owned(),
        snippet: Some("        self._cache = threading.local()  # per-thread request cache".to_owned()),
        conditional: false,
        suppressed: None,
        fix: None,
        context: None,
    }
}

fn input(target_id: i64, findings: Vec<IncomingFinding>) -> ScanInput {
    ScanInput {
        coverage: Default::default(),
        target_id,
        revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
        tool: "bench".into(),
        tool_version: None,
        complete: true,
        files_scanned: 2_500,
        unread_files: Vec::new(),
        api_index: None,
        imports: None,
        finished_at: None,
        cause: None,
        scope: None,
        file_hashes: Default::default(),
        calls_out: None,
        findings,
    }
}

fn main() {
    // RUST_LOG=unthread_server::ingest=debug shows where the time goes.
    unthread_server::cli::init_tracing();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for run in 1..=3 {
            let pool = fresh_database().await;
            let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
            let baseline: Vec<IncomingFinding> = (0..N).map(|i| finding(i, 0)).collect();
            let start = Instant::now();
            ingest(&pool, &input(target, baseline)).await.unwrap();
            let initial = start.elapsed();

            // Scans of a target are hours apart: autovacuum has long processed the previous
            // ingest (hint bits set, visibility map and statistics up to date) when the next
            // one comes. Do now what it would have done, so the rescan is timed alone.
            sqlx::query("VACUUM ANALYZE findings").execute(&pool).await.unwrap();
            sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();

            // Half unchanged, a quarter moved down 3 lines, a quarter gone and replaced by new ones.
            let next: Vec<IncomingFinding> = (0..N)
                .map(|i| match i % 4 {
                    0 | 1 => finding(i, 0),
                    2 => finding(i, 3),
                    _ => finding(N + i, 0),
                })
                .collect();
            let start = Instant::now();
            let summary = ingest(&pool, &input(target, next)).await.unwrap();
            let rescan = start.elapsed();
            assert_eq!((summary.new, summary.fixed, summary.seen), (N as i64 / 4, N as i64 / 4, 3 * N as i64 / 4));
            println!(
                "run {run}: initial ingest of {N}: {:.2} s; rescan of {N} into {N} (50% unchanged, 25% moved, 25% gone + 25% new): {:.2} s",
                initial.as_secs_f64(),
                rescan.as_secs_f64()
            );
            pool.close().await;
        }
    });
}
