//! `unthread demo`: the real Open edX migration as a first-run dataset.
//!
//! The findings are the scanner's actual output (the bundled [`snapshot`]): on
//! openedx-platform's pinned dependencies, and on the Open edX repositories that publish
//! some of them at each of their real commits since the epic started, and on the few
//! openedx-platform files the epic's items point at (a scan of those files only, said on every
//! page that shows the platform's progress). [`history`] replays
//! them with their real dates, syncs the epic's real GitHub items from
//! [`github_replay`] through the ordinary sync, and adds the one simulated part: local
//! people (named as simulated) claiming and triaging work nobody filed.
//!
//! Loading takes seconds and happens once: a second run finds the `demo.loaded` event and
//! changes nothing.

pub mod git_history;
pub mod github_replay;
mod history;
pub mod snapshot;

use sqlx::PgPool;

pub use snapshot::Snapshot;

/// What `serve --demo` says on every page about its data.
pub const NOTICE: &str =
    "Demo. Real: openedx/openedx-platform#38680 and its GitHub items (as publicly seen by 2026-12-01), \
    the Open edX repositories' commits since 2026-06-01 (git snapshots up to August 2026), \
    the openedx-platform files the epic's items point at (not the whole repository) and every finding. \
    Simulated: the people ana, bilal, chen, dana and eli, and their claims and triage.";

/// Loads the bundled snapshot and its history unless the demo was loaded before.
pub async fn load_demo(pool: &PgPool) -> anyhow::Result<()> {
    let loaded = db::models::events::any_of_kind(pool, db::models::events::EventKind::DemoLoaded).await?;
    if loaded {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let snapshot = snapshot::bundled()?;
    let summary = history::play(pool, &snapshot).await?;
    let mut conn = pool.acquire().await?;
    // The releases as checked when the snapshot was made (upgrade advice).
    for target in &snapshot.targets {
        let (Some(releases), Some(id)) =
            (&target.releases, db::models::targets::id_by_name(&mut *conn, &target.name).await?)
        else {
            continue;
        };
        let scans: Vec<db::models::upgrades::ReleaseScan> =
            releases.scanned.iter().map(|s| db::models::upgrades::ReleaseScan { target_id: id, ..s.clone() }).collect();
        db::models::upgrades::record_check(
            &mut conn,
            id,
            target.revision.as_deref(),
            releases.newest.as_deref(),
            &scans,
            &[],
        )
        .await?;
    }
    let reach_started = std::time::Instant::now();
    let reach = db::models::reach::recompute(&mut conn).await?;
    let via = db::models::runs_at_via::recompute(&mut conn).await?;
    tracing::info!(
        reached = reach.reached,
        modules = reach.modules,
        holders_at_request = via.request,
        holders_in_worker = via.worker,
        open_ends = via.open_ends,
        called_from_other_code = via.called,
        ms = reach_started.elapsed().as_millis() as u64,
        "demo reachability and cross-package runs-at computed"
    );
    tracing::info!(
        targets = snapshot.targets.len(),
        findings = summary.findings,
        scans = summary.scans,
        claims = summary.claims,
        fixed = summary.fixed,
        ms = started.elapsed().as_millis() as u64,
        "demo data loaded"
    );
    Ok(())
}
