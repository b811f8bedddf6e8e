//! The demo's history, played against the real snapshot with the dates it really had:
//!
//! - the pinned packages are scanned once, as the first sweep when the epic started;
//! - each Open edX repository with a history is scanned at its real commits, each scan
//!   dated a few minutes after the commit, as a push-triggered rescan would be — so a fix
//!   appears as fixed by the scan of the commit that made it;
//! - the epic's GitHub items come through the real sync, from [`super::github_replay`];
//! - only the people are made up: local (not GitHub) accounts, named as simulated, whose
//!   claims and triage show those features on findings no GitHub item names.
//!
//! Every step goes through the same tables (and, for scans, the same ingest) as real use.

use chrono::{DateTime, Duration, Utc};
use db::kinds::{Role, TargetKind, Triage};
use db::models::{
    claims::{self, Item},
    events::{self, About, DemoLoaded, Event},
    findings, triage,
    users::{self, User},
};
use sqlx::{PgConnection, PgPool};

use super::{
    github_replay::{self, GitHubFixtures},
    snapshot::{Snapshot, SnapshotTarget},
};
use crate::ingest::scan::{ingest, IncomingFinding, ScanInput};

/// (login, name, role) of the demo's people: local accounts, not GitHub users, and named so.
pub const PEOPLE: [(&str, &str, Role); 5] = [
    ("ana", "Ana (simulated maintainer)", Role::Maintainer),
    ("bilal", "Bilal (simulated)", Role::Contributor),
    ("chen", "Chen (simulated)", Role::Contributor),
    ("dana", "Dana (simulated)", Role::Contributor),
    ("eli", "Eli (simulated)", Role::Contributor),
];

/// How long after a commit its push-triggered rescan is recorded.
const RESCAN_DELAY: i64 = 3;

#[derive(Debug, Default)]
pub struct Played {
    pub findings: usize,
    pub scans: usize,
    pub claims: usize,
    pub fixed: i64,
}

pub async fn play(pool: &PgPool, snapshot: &Snapshot) -> anyhow::Result<Played> {
    let fixtures = std::sync::Arc::new(GitHubFixtures::bundled()?);
    let start = fixtures.epic_created_at()?;
    let mut played = Played::default();

    // The platform's requirements and the first scan of every pinned package.
    let platform_id = db::models::targets::upsert(pool, TargetKind::Platform, &snapshot.platform).await?;
    let requirements: crate::pypi::requirements::Requirements = snapshot.requirements.parse()?;
    crate::ingest::requirements::import(
        &mut *pool.acquire().await?,
        platform_id,
        &snapshot.requirements_path,
        &requirements,
    )
    .await?;

    for (i, target) in snapshot.targets.iter().enumerate() {
        let target_id = db::models::targets::upsert(pool, target.kind, &target.name).await?;
        db::models::packages::link_target(&mut *pool.acquire().await?, target_id, &target.package).await?;
        played.findings += target.findings.len();
        if target.history.is_empty() {
            let at = start + Duration::seconds(10 * i as i64);
            let input = scan(target_id, target, target.revision.clone(), target.findings.clone(), at, true);
            ingest(pool, &input).await?;
            played.scans += 1;
            continue;
        }
        let text = |path: &str| target.owner_files.get(path).map(String::as_str);
        if let Ok(Some(team)) = crate::ingest::owners::owner_team(text) {
            db::models::teams::set_owner_team(pool, target_id, Some((&team.team, team.source))).await?;
        }
        // The repository at each commit of its history.
        let mut findings: Vec<IncomingFinding> = Vec::new();
        for (k, step) in target.history.iter().enumerate() {
            if let Some(changed) = &step.findings {
                findings.clone_from(changed);
            }
            let last = k + 1 == target.history.len();
            let at = step.committed_at.max(start) + Duration::minutes(RESCAN_DELAY);
            let mut input = scan(target_id, target, Some(step.commit.clone()), findings.clone(), at, last);
            input.files_scanned = step.files_scanned;
            let summary = ingest(pool, &input).await?;
            played.fixed += summary.fixed;
            played.scans += 1;
        }
    }

    // The platform's files the epic's items point at: a scan of those files only, saying so.
    if let Some(files) = &snapshot.platform_files {
        let input = ScanInput {
            coverage: Default::default(),
            target_id: platform_id,
            revision: Some(files.commit.clone()),
            tool: "unthread-scan".into(),
            tool_version: files.tool_version.clone(),
            complete: true,
            files_scanned: i32::try_from(files.paths.len()).unwrap_or(i32::MAX),
            unread_files: Vec::new(),
            findings: files.findings.clone(),
            api_index: None,
            imports: None,
            finished_at: Some(start + Duration::seconds(10 * snapshot.targets.len() as i64)),
            cause: None,
            scope: Some(db::ingest::ScanScope { paths: files.paths.clone(), why: files.why.clone() }),
            file_hashes: Default::default(),
            calls_out: None,
        };
        ingest(pool, &input).await?;
        played.findings += files.findings.len();
        played.scans += 1;
    }

    // The epic's GitHub state, synced from the replay as `unthread sync` would from GitHub.
    let replay = github_replay::start(fixtures.clone()).await?;
    let github = crate::github::client::GitHub::new(pool.clone(), &replay.url, None)?;
    let config =
        crate::github::sync::SyncConfig { epics: vec![fixtures.epic()], repositories: fixtures.repositories() };
    let report = crate::github::sync::sync(pool, &github, &config).await.map_err(|e| anyhow::anyhow!("{e:#}"))?;
    drop(replay);
    tracing::info!(issues = report.issues, pulls = report.pulls, links = report.new_links, "demo GitHub state synced");

    let mut tx = pool.begin().await?;
    let people = add_people(&mut tx).await?;
    played.claims = simulated_claims(&mut tx, snapshot, &people, start).await?;
    simulated_triage(&mut tx, &people["ana"], start + Duration::days(16)).await?;
    let loaded = Event::DemoLoaded(DemoLoaded { source: snapshot.source.clone(), findings: played.findings });
    events::record(&mut *tx, &loaded, About::system()).await?;
    tx.commit().await?;
    Ok(played)
}

fn scan(
    target_id: i64,
    target: &SnapshotTarget,
    revision: Option<String>,
    findings: Vec<IncomingFinding>,
    at: DateTime<Utc>,
    with_indexes: bool,
) -> ScanInput {
    ScanInput {
        coverage: Default::default(),
        target_id,
        revision,
        tool: "unthread-scan".into(),
        tool_version: target.tool_version.clone(),
        complete: true,
        files_scanned: target.files_scanned,
        unread_files: Vec::new(),
        findings,
        // The snapshot keeps a repository's indexes of its latest commit only.
        api_index: target.api_index.clone().filter(|_| with_indexes),
        imports: target.imports.clone().filter(|_| with_indexes),
        finished_at: Some(at),
        cause: None,
        scope: None,
        file_hashes: Default::default(),
        calls_out: target.calls_out.clone().filter(|_| with_indexes),
    }
}

async fn add_people(tx: &mut PgConnection) -> sqlx::Result<std::collections::HashMap<&'static str, User>> {
    let mut people = std::collections::HashMap::new();
    for (login, name, role) in PEOPLE {
        people.insert(login, users::add_dev_user(&mut *tx, login, Some(name), role).await?);
    }
    Ok(people)
}

/// The simulated contributors each take up work nobody filed on GitHub, one repository each
/// in turn: single findings still open, or a whole repository whose history changed nothing;
/// one gives a claim up. Dated within the epic's first weeks.
async fn simulated_claims(
    tx: &mut PgConnection,
    snapshot: &Snapshot,
    people: &std::collections::HashMap<&'static str, User>,
    start: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut claimed = 0;
    let libraries = snapshot.targets.iter().filter(|t| t.kind == TargetKind::Library && !t.findings.is_empty());
    for (n, target) in libraries.take(8).enumerate() {
        let Some(target_id) = db::models::targets::id_by_name(&mut *tx, &target.name).await? else { continue };
        let owner = &people[PEOPLE[1 + n % 4].0];
        let at = start + Duration::days(3 + 2 * n as i64) + Duration::hours(n as i64);
        // A whole repository only where the real history fixed nothing: a claim there must not
        // take credit for a real fix.
        let nothing_fixed = target.history.iter().skip(1).all(|scan| scan.findings.is_none());
        let items: Vec<Item> = if n % 3 == 0 && nothing_fixed {
            vec![Item::Target(target_id)]
        } else {
            findings::open_unfiled_of_target(&mut *tx, target_id, 2).await?.into_iter().map(Item::Finding).collect()
        };
        for item in &items {
            claims::claim_at(&mut *tx, owner, *item, at).await?;
            claimed += 1;
        }
        if n % 5 == 4 {
            for item in items {
                claims::unclaim_at(&mut *tx, owner, item, at + Duration::days(9)).await?;
            }
        }
    }
    Ok(claimed)
}

/// The simulated maintainer sets two module-level registries aside (filled at import time,
/// the usual reason such a finding is not worth changing) and confirms one thread local.
async fn simulated_triage(tx: &mut PgConnection, ana: &User, at: DateTime<Utc>) -> anyhow::Result<()> {
    let mut picks: Vec<(i64, Triage)> = Vec::new();
    for id in findings::first_open_of_rule(&mut *tx, "UT010", 2).await? {
        picks.push((id, Triage::WontFix));
    }
    for id in findings::first_open_of_rule(&mut *tx, "UT001", 1).await? {
        picks.push((id, Triage::Confirmed));
    }
    for (i, (id, state)) in picks.into_iter().enumerate() {
        let reason = (state == Triage::WontFix)
            .then_some("Registry filled once at import time and never changed per request (simulated triage).");
        triage::set_at(&mut *tx, ana, id, state, reason, at + Duration::hours(i as i64)).await?;
    }
    Ok(())
}
