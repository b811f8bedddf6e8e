//! The demo's simulated three weeks, played against the real snapshot: every step goes
//! through the same tables (and, for scans, the same ingest) as real use, with past
//! timestamps. Everything is derived from the snapshot's order, so two loads tell the same
//! story.

use chrono::{DateTime, Duration, DurationRound, Utc};
use db::kinds::{LinkHow, Role, TargetKind, Triage};
use db::models::{
    claims::{self, Item},
    events::{self, About, DemoLoaded, Event},
    findings,
    links::{self, GitHubSide},
    triage,
    users::{self, User},
};
use sqlx::{PgConnection, PgPool};

use super::snapshot::{Snapshot, SnapshotTarget};
use crate::{
    github::{model, store},
    ingest::scan::{ingest, IncomingFinding, ScanInput},
};

/// (login, name, role) of the demo's people: local accounts, not GitHub users.
const PEOPLE: [(&str, &str, Role); 5] = [
    ("ana", "Ana (maintainer)", Role::Maintainer),
    ("bilal", "Bilal", Role::Contributor),
    ("chen", "Chen", Role::Contributor),
    ("dana", "Dana", Role::Contributor),
    ("eli", "Eli", Role::Contributor),
];

/// The epic (real: openedx/openedx-platform#38680).
const EPIC_REPOSITORY: &str = "openedx/openedx-platform";
const EPIC_NUMBER: i32 = 38680;
const EPIC_TITLE: &str = "Make the platform safe for async by replacing all thread locals with contextvars";

/// Simulated GitHub items get numbers no real issue of these repositories has yet.
const FIRST_DEMO_NUMBER: i32 = 90_001;

#[derive(Debug, Default)]
pub struct Played {
    pub findings: usize,
    pub claims: usize,
    pub fixed: usize,
}

/// One library's part of the story.
struct Plan<'s> {
    target: &'s SnapshotTarget,
    target_id: i64,
    owner: &'static str,
    /// The owner claims the whole target instead of single findings.
    whole_target: bool,
    /// Up to three open findings the owner works on: the first is fixed in week two, the
    /// second in week three, the third stays open with a pull request under review.
    work: Vec<&'s IncomingFinding>,
    /// The claim is given up in week two (a stale claim the report can show).
    released: bool,
}

pub async fn play(pool: &PgPool, snapshot: &Snapshot) -> anyhow::Result<Played> {
    let now = Utc::now().duration_trunc(Duration::hours(1))?;
    let start = now - Duration::days(21);
    let mut played = Played::default();

    // Day 0: the platform's requirements and the first scan of every pinned package.
    let platform_id = db::models::targets::upsert(pool, TargetKind::Platform, &snapshot.platform).await?;
    let requirements: crate::pypi::requirements::Requirements = snapshot.requirements.parse()?;
    crate::ingest::requirements::import(
        &mut *pool.acquire().await?,
        platform_id,
        &snapshot.requirements_path,
        &requirements,
    )
    .await?;

    let mut plans = Vec::new();
    for (i, target) in snapshot.targets.iter().enumerate() {
        let target_id = db::models::targets::upsert(pool, target.kind, &target.name).await?;
        link_package(pool, target_id, &target.package).await?;
        // The first sweep of scans runs over the first two days.
        let at = start + Duration::minutes(10 * i as i64);
        ingest(pool, &scan(target_id, target, &target.findings, at, None)).await?;
        played.findings += target.findings.len();
        let work: Vec<&IncomingFinding> = target.findings.iter().filter(|f| f.rule != "UT100").take(3).collect();
        if target.kind == TargetKind::Library && !work.is_empty() {
            let n = plans.len();
            plans.push(Plan {
                target,
                target_id,
                owner: PEOPLE[1 + n % 4].0,
                whole_target: n % 3 == 0,
                work,
                released: n % 5 == 4,
            });
        }
    }

    let mut tx = pool.begin().await?;
    let users = add_people(&mut tx).await?;
    let epic = add_epic(&mut tx, start).await?;
    tx.commit().await?;

    for (n, plan) in plans.iter().enumerate() {
        let hours = |h: i64| Duration::hours(h + n as i64);
        let mut tx = pool.begin().await?;
        let finding_ids = finding_ids(&mut tx, plan.target_id, &plan.work).await?;
        let owner = &users[plan.owner];
        // Week one: claims.
        let claimed_at = start + Duration::days(2) + hours(0);
        let items: Vec<Item> = if plan.whole_target {
            vec![Item::Target(plan.target_id)]
        } else {
            finding_ids.iter().map(|&id| Item::Finding(id)).collect()
        };
        for item in items {
            claims::claim_at(&mut *tx, owner, item, claimed_at).await?;
            played.claims += 1;
        }
        let issue = add_sub_issue(&mut tx, plan, n, &epic, start + Duration::days(1) + hours(0)).await?;
        links::add_derived(&mut tx, Item::Target(plan.target_id), GitHubSide::Issue(issue), LinkHow::SubIssue).await?;
        // Pull requests: merged before the scans that see their fixes, the last one open.
        for (k, &id) in finding_ids.iter().enumerate() {
            let opened = claimed_at + Duration::days(1 + 3 * k as i64);
            let merged = (k < 2).then(|| start + Duration::days(7 + 7 * k as i64) + hours(0));
            let pull = add_pull(&mut tx, plan, n, k, opened, merged).await?;
            links::add_derived(&mut tx, Item::Finding(id), GitHubSide::Pull(pull), LinkHow::Explicit).await?;
        }
        if plan.released {
            release(&mut tx, owner, plan.target_id, start + Duration::days(12) + hours(0)).await?;
        }
        tx.commit().await?;

        // Weeks two and three: rescans without the fixed findings.
        for week in 1..=2usize.min(plan.work.len()) {
            let fixed: Vec<&str> = plan.work[..week].iter().map(|f| f.fingerprint.as_str()).collect();
            let remaining: Vec<IncomingFinding> =
                plan.target.findings.iter().filter(|f| !fixed.contains(&f.fingerprint.as_str())).cloned().collect();
            let at = start + Duration::days(1 + 7 * week as i64) + hours(0);
            let revision = plan.target.revision.as_deref().map(|v| format!("{v}+demo.week{}", week + 1));
            ingest(pool, &scan(plan.target_id, plan.target, &remaining, at, revision)).await?;
            played.fixed += 1;
        }
    }

    let mut tx = pool.begin().await?;
    triage_examples(&mut tx, start + Duration::days(10)).await?;
    let loaded = Event::DemoLoaded(DemoLoaded { source: snapshot.source.clone(), findings: played.findings });
    events::record(&mut *tx, &loaded, About::system()).await?;
    tx.commit().await?;
    Ok(played)
}

fn scan(
    target_id: i64,
    target: &SnapshotTarget,
    findings: &[IncomingFinding],
    at: DateTime<Utc>,
    revision: Option<String>,
) -> ScanInput {
    ScanInput {
        target_id,
        revision: revision.or_else(|| target.revision.clone()),
        tool: "unthread-scan".into(),
        tool_version: target.tool_version.clone(),
        complete: true,
        files_scanned: target.files_scanned,
        unread_files: Vec::new(),
        findings: findings.to_vec(),
        api_index: target.api_index.clone(),
        imports: target.imports.clone(),
        finished_at: Some(at),
        cause: None,
    }
}

async fn link_package(pool: &PgPool, target_id: i64, package: &str) -> sqlx::Result<()> {
    db::models::packages::link_target(&mut *pool.acquire().await?, target_id, package).await
}

async fn add_people(tx: &mut PgConnection) -> sqlx::Result<std::collections::HashMap<&'static str, User>> {
    let mut people = std::collections::HashMap::new();
    for (login, name, role) in PEOPLE {
        people.insert(login, users::add_dev_user(&mut *tx, login, Some(name), role).await?);
    }
    Ok(people)
}

async fn finding_ids(tx: &mut PgConnection, target_id: i64, work: &[&IncomingFinding]) -> sqlx::Result<Vec<i64>> {
    let fingerprints: Vec<String> = work.iter().map(|f| f.fingerprint.clone()).collect();
    findings::ids_by_fingerprint(&mut *tx, target_id, &fingerprints).await
}

/// Gives up every active claim `owner` holds in the target.
async fn release(tx: &mut PgConnection, owner: &User, target: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
    for item in claims::held_in_target(&mut *tx, owner.id, target).await? {
        claims::unclaim_at(&mut *tx, owner, item, at).await?;
    }
    Ok(())
}

/// A GitHub issue payload as the REST API sends it (the shape the sync stores).
fn issue_payload(
    id: i64,
    repository: &str,
    number: i32,
    title: &str,
    body: &str,
    assignees: &[&str],
    at: DateTime<Utc>,
) -> anyhow::Result<model::Issue> {
    Ok(serde_json::from_value(serde_json::json!({
        "id": id,
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "html_url": format!("https://github.com/{repository}/issues/{number}"),
        "repository_url": format!("https://api.github.com/repos/{repository}"),
        "user": { "login": "ana" },
        "assignees": assignees.iter().map(|login| serde_json::json!({ "login": login })).collect::<Vec<_>>(),
        "labels": [{ "name": "async-safety" }],
        "created_at": at,
        "updated_at": at,
    }))?)
}

async fn add_epic(tx: &mut PgConnection, at: DateTime<Utc>) -> anyhow::Result<model::IssueRef> {
    let epic = issue_payload(
        // GitHub ids are global; the demo's sit far above the real ones' range in use.
        9_000_000_000,
        EPIC_REPOSITORY,
        EPIC_NUMBER,
        EPIC_TITLE,
        "Replace every threading.local, thread lock and module-level mutable state with contextvars so the \
         platform can run under ASGI. (Demo copy: the sub-issues and pull requests around it are simulated.)",
        &[],
        at,
    )?;
    store::upsert_issue(tx, EPIC_REPOSITORY, &epic, None).await?;
    Ok(model::IssueRef { repository: EPIC_REPOSITORY.into(), number: EPIC_NUMBER })
}

async fn add_sub_issue(
    tx: &mut PgConnection,
    plan: &Plan<'_>,
    n: usize,
    epic: &model::IssueRef,
    at: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let id = 9_000_000_100 + n as i64;
    let number = FIRST_DEMO_NUMBER + n as i32;
    let title = format!("[demo] {}: replace thread locals with contextvars", plan.target.name);
    let body = format!(
        "Part of {}#{}. Found by Unthread in {} ({} findings).",
        epic.repository,
        epic.number,
        plan.target.package,
        plan.target.findings.len()
    );
    let issue = issue_payload(id, &plan.target.name, number, &title, &body, &[plan.owner], at)?;
    store::upsert_issue(tx, &plan.target.name, &issue, Some(epic)).await?;
    Ok(id)
}

async fn add_pull(
    tx: &mut PgConnection,
    plan: &Plan<'_>,
    n: usize,
    k: usize,
    opened: DateTime<Utc>,
    merged: Option<DateTime<Utc>>,
) -> anyhow::Result<i64> {
    let finding = plan.work[k];
    let id = 9_000_100_000 + (n * 10 + k) as i64;
    let number = FIRST_DEMO_NUMBER + 100 + (n * 10 + k) as i32;
    let repository = &plan.target.name;
    let what = finding.symbol.as_deref().unwrap_or(&finding.path);
    let pull: model::PullRequest = serde_json::from_value(serde_json::json!({
        "id": id,
        "number": number,
        "title": format!("[demo] {}: use a ContextVar in {what}", finding.rule),
        "body": format!("Fixes `{}` line {} ({}).", finding.path, finding.start_line, finding.rule),
        "state": if merged.is_some() { "closed" } else { "open" },
        "draft": merged.is_none() && n % 2 == 1,
        "merged": merged.is_some(),
        "merged_at": merged,
        "closed_at": merged,
        "html_url": format!("https://github.com/{repository}/pull/{number}"),
        "user": { "login": plan.owner },
        "assignees": [{ "login": plan.owner }],
        "labels": [],
        "base": { "repo": { "full_name": repository } },
        "created_at": opened,
        "updated_at": merged.unwrap_or(opened),
    }))?;
    store::upsert_pull(&mut *tx, repository, &pull).await?;
    Ok(id)
}

/// The maintainer sets two module-level registries aside (they are filled at import time,
/// the usual reason such a finding is not worth changing) and confirms one thread local.
async fn triage_examples(tx: &mut PgConnection, at: DateTime<Utc>) -> anyhow::Result<()> {
    let mut picks: Vec<(i64, Triage)> = Vec::new();
    for id in findings::first_open_of_rule(&mut *tx, "UT010", 2).await? {
        picks.push((id, Triage::WontFix));
    }
    for id in findings::first_open_of_rule(&mut *tx, "UT001", 1).await? {
        picks.push((id, Triage::Confirmed));
    }
    let ana =
        users::by_login(&mut *tx, "ana").await?.ok_or_else(|| anyhow::anyhow!("the demo's maintainer is missing"))?;
    for (i, (id, state)) in picks.into_iter().enumerate() {
        let reason = (state == Triage::WontFix)
            .then_some("Registry filled once at import time and never changed per request (demo triage).");
        triage::set_at(&mut *tx, &ana, id, state, reason, at + Duration::hours(i as i64)).await?;
    }
    Ok(())
}
