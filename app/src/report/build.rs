//! Assembles a [`WeeklyReport`] from history at the week's two ends.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use super::{
    one_decimal, BlockingDependency, ClosedBy, FiledFigures, FindingRef, FixedItem, GitHubActivity, GitHubRef,
    Headline, IsoWeek, OwnershipChange, PullRef, ReachFigures, RunsAtFigures, StaleClaim, TargetRow, TeamRow,
    TriageItem, Upgrade, WeeklyReport, SCHEMA_ID,
};
use db::{
    kinds::TargetKind,
    models::history::{self, ClaimPeriod, Closer, FindingPeriod, GitHubSnapshot, LinkedPull, TargetInfo},
    progress::Progress,
};

/// How many dependencies the "blocking" list names.
const BLOCKING_LIST_LEN: usize = 10;
/// Repositories and packages the filed-vs-found table lists.
const FILED_LIST_LEN: usize = 10;

#[derive(Clone, Debug)]
pub struct Options {
    pub week: IsoWeek,
    pub timezone: Tz,
    /// A claim on an open item with no activity for this many days is stale.
    pub stale_after_days: u32,
    /// This server's public URL, for links to findings.
    pub base_url: String,
}

/// The report of `options.week`, from one consistent snapshot of the database.
pub async fn build(pool: &PgPool, options: &Options) -> sqlx::Result<WeeklyReport> {
    let (start, end) = options.week.bounds(options.timezone);
    let mut tx = history::snapshot(pool).await?;
    let targets = history::targets(&mut *tx, end).await?;
    let findings = history::findings(&mut *tx, start, end).await?;
    let triage = history::triage_changes(&mut *tx, start, end).await?;
    let claims = history::claims(&mut *tx, end).await?;
    let pulls = history::linked_pulls(&mut *tx, end).await?;
    let sub_issues = history::sub_issues_changed(&mut *tx, start, end).await?;
    let merged = history::pulls_merged(&mut *tx, start, end).await?;
    let unassigned = history::unassigned_sub_issues(&mut *tx, end).await?;
    let (changes_opened, changes_merged, changes_closed) = history::changes_between(&mut *tx, start, end).await?;
    let upgrades = db::models::upgrades::clearing_before(&mut *tx, end).await?;
    let upgrades_checked = db::models::upgrades::checked_before(&mut *tx, end).await?;
    let simulated = db::models::users::simulated_logins(&mut *tx).await?;
    let reach = db::models::events::last_reach_before(&mut *tx, end).await?.map(|(at, r)| ReachFigures {
        computed_at: timestamp(at),
        reached: r.dependency_findings_reached,
        not_reached: r.dependency_findings_not_reached,
    });
    let filed = db::models::epic::filed_vs_found(&mut *tx, Some(end), true).await?;
    let coverage = db::models::scans::coverage_before(&mut *tx, end).await?;
    let series: Vec<db::views::BurndownPoint> = db::models::progress::burndown(&mut *tx, 3660)
        .await?
        .into_iter()
        .filter(|p| p.day < end.date_naive())
        .collect();
    let target = db::models::campaign::target(&mut *tx).await?;
    let team_of = db::models::teams::by_target(&mut *tx).await?;
    tx.commit().await?;
    // Projected from the end of the week, the week itself counted as complete.
    let headline = headline(&findings, start);
    let runs_at = runs_at_figures(&findings);
    let next_monday = end.with_timezone(&options.timezone).date_naive();
    let projection = db::projection::project(
        next_monday,
        headline.open,
        &db::projection::weekly_done(&series, next_monday),
        target.map(|t| t.date),
    );
    let total = filed.total.unwrap_or_default();
    let filed = FiledFigures {
        found: total.found,
        filed: total.filed,
        open_unfiled: total.open_unfiled,
        by_target: filed
            .by_target
            .into_iter()
            .filter(|t| t.open_unfiled > 0 || t.filed > 0)
            .take(FILED_LIST_LEN)
            .collect(),
    };
    let upgrades = upgrades
        .into_iter()
        .map(|b| Upgrade { dependency: b.name, pinned: b.pinned, version: b.version, clears: b.clears, open: b.open })
        .collect();

    let ctx = Context {
        base_url: options.base_url.trim_end_matches('/').to_owned(),
        targets: targets.iter().map(|t| (t.id, t)).collect(),
        findings: findings.iter().map(|f| (f.id, f)).collect(),
    };
    let rows = target_rows(&targets, &findings, start);
    let teams = team_rows(rows.iter().map(|(_, row)| row), &team_of);
    let fixed = fixed_items(&ctx, &findings, &claims, &pulls, start);
    let mut report = WeeklyReport {
        schema: SCHEMA_ID.to_owned(),
        week: options.week.to_string(),
        timezone: options.timezone.name().to_owned(),
        starts_at: timestamp(start),
        ends_at: timestamp(end),
        base_url: ctx.base_url.clone(),
        stale_after_days: options.stale_after_days,
        headline,
        fixed,
        new: sorted_refs(&ctx, findings.iter().filter(|f| new_this_week(f, start)).map(|f| (f, f.first_seen_at))),
        reopened: sorted_refs(
            &ctx,
            findings.iter().filter(|f| reopened_this_week(f, start)).map(|f| (f, f.first_seen_at)),
        ),
        triaged: triage
            .into_iter()
            .filter_map(|t| {
                let finding = ctx.finding_ref(ctx.findings.get(&t.finding_id)?, t.at);
                Some(TriageItem { finding, by: t.by, from: t.from, to: t.to, reason: t.reason })
            })
            .collect(),
        ownership: ownership_changes(&ctx, &claims, start, end),
        stale_claims: stale_claims(&ctx, &claims, &rows, end, options.stale_after_days),
        unassigned_sub_issues: unassigned.iter().map(issue_ref).collect(),
        blocking_dependencies: blocking(&targets, &rows, &findings),
        upgrades,
        upgrades_checked,
        simulated_people: Vec::new(),
        reach,
        filed,
        runs_at,
        coverage,
        teams,
        projection,
        github: GitHubActivity {
            sub_issues_opened: sub_issues.iter().filter(|i| i.created_at >= start).map(issue_ref).collect(),
            sub_issues_closed: sub_issues
                .iter()
                .filter(|i| i.closed_at.is_some_and(|c| c >= start))
                .map(issue_ref)
                .collect(),
            pull_requests_merged: merged.iter().map(issue_ref).collect(),
            changes: super::ChangeCounts { opened: changes_opened, merged: changes_merged, closed: changes_closed },
        },
        targets: rows.into_iter().map(|(_, row)| row).collect(),
    };
    // The simulated people this report mentions (owners, who assigned, triaged or fixed).
    let mentioned: std::collections::HashSet<String> = report
        .ownership
        .iter()
        .flat_map(|c| [c.owner.to_lowercase(), c.by.to_lowercase()])
        .chain(report.stale_claims.iter().map(|s| s.owner.to_lowercase()))
        .chain(report.fixed.iter().filter_map(|f| f.fixed_by.as_ref().map(|b| b.to_lowercase())))
        .chain(report.triaged.iter().filter_map(|t| t.by.as_ref().map(|b| b.to_lowercase())))
        .collect();
    report.simulated_people = simulated.into_iter().filter(|l| mentioned.contains(&l.to_lowercase())).collect();
    Ok(report)
}

struct Context<'a> {
    base_url: String,
    targets: HashMap<i64, &'a TargetInfo>,
    findings: HashMap<i64, &'a FindingPeriod>,
}

impl Context<'_> {
    fn target_name(&self, id: i64) -> String {
        self.targets.get(&id).map(|t| t.name.clone()).unwrap_or_default()
    }

    fn finding_ref(&self, f: &FindingPeriod, at: DateTime<Utc>) -> FindingRef {
        FindingRef {
            id: f.id,
            url: format!("{}/findings/{}", self.base_url, f.id),
            target: self.target_name(f.target_id),
            rule: f.rule.clone(),
            path: f.path.clone(),
            symbol: f.symbol.clone(),
            at: timestamp(at),
        }
    }
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Progress from what each finding counts as (`FindingPeriod::state_at_*`: the buckets of
/// the one scope, `db::progress`).
fn progress(states: impl Iterator<Item = Option<String>>) -> Progress {
    let mut p = Progress::default();
    for state in states.flatten() {
        p.count(&state);
    }
    p
}

/// New this week: first seen within it, and in scope (a context variable or a test is not
/// new work).
fn new_this_week(f: &FindingPeriod, start: DateTime<Utc>) -> bool {
    f.first_seen_at >= start && f.in_scope()
}

fn reopened_this_week(f: &FindingPeriod, start: DateTime<Utc>) -> bool {
    f.reopened && f.first_seen_at < start && f.in_scope()
}

/// Done (fixed + triaged away) of what is in scope, one decimal; 0 when nothing is.
fn percent(p: &Progress) -> f64 {
    one_decimal(p.percent_done().unwrap_or(0.0))
}

fn fixed_this_week(f: &FindingPeriod) -> bool {
    f.state_at_end == "fixed" && f.state_at_start.as_deref() != Some("fixed")
}

/// The open findings in scope (outside test code) at the end by when their code runs.
fn runs_at_figures(findings: &[FindingPeriod]) -> RunsAtFigures {
    let mut figures = RunsAtFigures::default();
    for f in findings.iter().filter(|f| f.state_at_end == "open") {
        match f.runs_at.as_deref() {
            Some("request") => figures.request += 1,
            Some("worker") => figures.worker += 1,
            Some("start-up") => figures.start_up += 1,
            Some("tests") => figures.tests += 1,
            Some(_) => figures.unknown += 1,
            None => figures.not_analysed += 1,
        }
    }
    figures
}

fn headline(findings: &[FindingPeriod], start: DateTime<Utc>) -> Headline {
    let before = progress(findings.iter().map(|f| f.state_at_start.clone()));
    let after = progress(findings.iter().map(|f| Some(f.state_at_end.clone())));
    Headline {
        open: after.open,
        open_change: after.open - before.open,
        fixed: after.fixed,
        done: after.done(),
        total: after.total(),
        fixed_this_week: findings.iter().filter(|f| fixed_this_week(f)).count() as i64,
        new_this_week: findings.iter().filter(|f| new_this_week(f, start)).count() as i64,
        reopened_this_week: findings.iter().filter(|f| reopened_this_week(f, start)).count() as i64,
        triaged_away: after.triaged_away,
        triaged_away_change: after.triaged_away - before.triaged_away,
        migrated: after.migrated,
        tests_open: after.tests_open,
        percent_done: percent(&after),
        percent_done_change: one_decimal(percent(&after) - percent(&before)),
    }
}

/// Each target with findings by the end of the week (with its id), repositories first.
fn target_rows(targets: &[TargetInfo], findings: &[FindingPeriod], start: DateTime<Utc>) -> Vec<(i64, TargetRow)> {
    let mut by_target: HashMap<i64, Vec<&FindingPeriod>> = HashMap::new();
    for f in findings {
        by_target.entry(f.target_id).or_default().push(f);
    }
    let start_of = |f: &&FindingPeriod| f.state_at_start.clone();
    let mut rows: Vec<(i64, TargetRow)> = targets
        .iter()
        .filter_map(|t| {
            let list = by_target.get(&t.id)?;
            let before = progress(list.iter().map(start_of));
            let after = progress(list.iter().map(|f| Some(f.state_at_end.clone())));
            Some((
                t.id,
                TargetRow {
                    name: t.name.clone(),
                    kind: t.kind.to_string(),
                    open: after.open,
                    open_change: after.open - before.open,
                    fixed: after.fixed,
                    migrated: after.migrated,
                    triaged_away: after.triaged_away,
                    total: after.total(),
                    tests_open: after.tests_open,
                    percent_done: percent(&after),
                    fixed_this_week: list.iter().filter(|f| fixed_this_week(f)).count() as i64,
                    new_this_week: list.iter().filter(|f| new_this_week(f, start)).count() as i64,
                    scope: t
                        .scope_files
                        .zip(t.scope_why.clone())
                        .map(|(files, why)| db::views::ScopeNote { files, why }.sentence(&t.name)),
                },
            ))
        })
        .collect();
    // `targets` comes in name order; the sort is stable, so names stay ordered per side.
    rows.sort_by_key(|(_, row)| row.kind == "dependency");
    rows
}

fn fixed_items(
    ctx: &Context,
    findings: &[FindingPeriod],
    claims: &[ClaimPeriod],
    pulls: &[LinkedPull],
    start: DateTime<Utc>,
) -> Vec<FixedItem> {
    let mut items: Vec<(DateTime<Utc>, FixedItem)> = findings
        .iter()
        .filter(|f| fixed_this_week(f))
        .map(|f| {
            let at = f.fixed_at.unwrap_or(start);
            let owner = owner_at(claims, f, at);
            let pull = fixing_pull(pulls, f, at);
            let fixed_by = owner.or_else(|| pull.and_then(|p| p.author.clone()));
            let pull_request = pull.map(|p| PullRef {
                repository: p.repository.clone(),
                number: p.number,
                title: p.title.clone(),
                url: p.url.clone(),
            });
            (at, FixedItem { finding: ctx.finding_ref(f, at), fixed_by, pull_request })
        })
        .collect();
    items.sort_by(|a, b| (a.0, &a.1.finding.target, a.1.finding.id).cmp(&(b.0, &b.1.finding.target, b.1.finding.id)));
    items.into_iter().map(|(_, item)| item).collect()
}

/// Who owned `f` at `at`: its own claim, else its target's.
fn owner_at(claims: &[ClaimPeriod], f: &FindingPeriod, at: DateTime<Utc>) -> Option<String> {
    let active = |c: &&ClaimPeriod| c.active_at(at);
    claims
        .iter()
        .filter(active)
        .find(|c| c.finding_id == Some(f.id))
        .or_else(|| claims.iter().filter(active).find(|c| c.target_id == Some(f.target_id)))
        .map(|c| c.owner.clone())
}

/// The merged pull request that fixed `f`: one linked to the finding (the last merged
/// before the fix was seen, else any merged by then), else one linked to its target that
/// changed its file.
fn fixing_pull<'a>(pulls: &'a [LinkedPull], f: &FindingPeriod, fixed_at: DateTime<Utc>) -> Option<&'a GitHubSnapshot> {
    let merged = |l: &&LinkedPull| l.pull.merged_at.is_some();
    let latest = |candidates: Vec<&'a LinkedPull>| {
        candidates
            .iter()
            .filter(|l| l.pull.merged_at.is_some_and(|m| m <= fixed_at))
            .max_by_key(|l| l.pull.merged_at)
            .or_else(|| candidates.iter().max_by_key(|l| l.pull.merged_at))
            .map(|l| &l.pull)
    };
    let own: Vec<&LinkedPull> = pulls.iter().filter(merged).filter(|l| l.finding_id == Some(f.id)).collect();
    latest(own).or_else(|| {
        let by_path: Vec<&LinkedPull> = pulls
            .iter()
            .filter(merged)
            .filter(|l| l.target_id == Some(f.target_id) && l.files.iter().any(|file| file == &f.path))
            .collect();
        latest(by_path)
    })
}

fn sorted_refs<'a>(ctx: &Context, items: impl Iterator<Item = (&'a FindingPeriod, DateTime<Utc>)>) -> Vec<FindingRef> {
    let mut items: Vec<(DateTime<Utc>, FindingRef)> = items.map(|(f, at)| (at, ctx.finding_ref(f, at))).collect();
    items.sort_by(|a, b| (a.0, &a.1.target, a.1.id).cmp(&(b.0, &b.1.target, b.1.id)));
    items.into_iter().map(|(_, r)| r).collect()
}

fn ownership_changes(
    ctx: &Context,
    claims: &[ClaimPeriod],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<OwnershipChange> {
    let within = |at: DateTime<Utc>| at >= start && at < end;
    let describe = |c: &ClaimPeriod, at: DateTime<Utc>| {
        let finding = c.finding_id.and_then(|id| ctx.findings.get(&id)).map(|f| ctx.finding_ref(f, at));
        let target = c
            .target_id
            .map(|id| ctx.target_name(id))
            .or_else(|| finding.as_ref().map(|f| f.target.clone()))
            .unwrap_or_default();
        (target, finding)
    };
    let mut changes: Vec<(DateTime<Utc>, u8, OwnershipChange)> = Vec::new();
    for c in claims {
        if within(c.claimed_at) {
            let (target, finding) = describe(c, c.claimed_at);
            let change = if c.claimed_by == c.owner { "claimed" } else { "assigned" };
            // At one instant a release comes before the claim that replaces it.
            changes.push((
                c.claimed_at,
                1,
                OwnershipChange {
                    at: timestamp(c.claimed_at),
                    change: change.into(),
                    owner: c.owner.clone(),
                    by: c.claimed_by.clone(),
                    target,
                    finding,
                },
            ));
        }
        if let Some(released) = c.released_at.filter(|at| within(*at)) {
            let (target, finding) = describe(c, released);
            changes.push((
                released,
                0,
                OwnershipChange {
                    at: timestamp(released),
                    change: "released".into(),
                    owner: c.owner.clone(),
                    by: c.released_by.clone().unwrap_or_default(),
                    target,
                    finding,
                },
            ));
        }
    }
    changes.sort_by(|a, b| {
        (a.0, a.1, &a.2.target, a.2.finding.as_ref().map(|f| f.id), &a.2.owner).cmp(&(
            b.0,
            b.1,
            &b.2.target,
            b.2.finding.as_ref().map(|f| f.id),
            &b.2.owner,
        ))
    });
    changes.into_iter().map(|(_, _, c)| c).collect()
}

fn stale_claims(
    ctx: &Context,
    claims: &[ClaimPeriod],
    rows: &[(i64, TargetRow)],
    end: DateTime<Utc>,
    stale_after_days: u32,
) -> Vec<StaleClaim> {
    let open_targets: HashMap<i64, i64> = rows.iter().map(|(id, row)| (*id, row.open)).collect();
    let threshold = end - chrono::Duration::days(i64::from(stale_after_days));
    let mut stale: Vec<StaleClaim> = claims
        .iter()
        .filter(|c| c.released_at.is_none() && c.last_activity_at < threshold)
        .filter_map(|c| {
            let (target, finding) = match (c.finding_id, c.target_id) {
                (Some(id), _) => {
                    let f = ctx.findings.get(&id).filter(|f| f.state_at_end == "open")?;
                    (ctx.target_name(f.target_id), Some(ctx.finding_ref(f, c.claimed_at)))
                }
                (None, Some(id)) => {
                    open_targets.get(&id).filter(|open| **open > 0)?;
                    (ctx.target_name(id), None)
                }
                (None, None) => return None,
            };
            Some(StaleClaim {
                owner: c.owner.clone(),
                target,
                finding,
                claimed_at: timestamp(c.claimed_at),
                last_activity_at: timestamp(c.last_activity_at),
                idle_days: (end - c.last_activity_at).num_days(),
            })
        })
        .collect();
    stale.sort_by(|a, b| {
        (b.idle_days, &a.owner, &a.target, a.finding.as_ref().map(|f| f.id)).cmp(&(
            a.idle_days,
            &b.owner,
            &b.target,
            b.finding.as_ref().map(|f| f.id),
        ))
    });
    stale
}

/// Pinned dependencies with open findings at the week's end: most impact (calls of their
/// thread-local APIs elsewhere) first, then most repositories pinning them, most open.
fn blocking(targets: &[TargetInfo], rows: &[(i64, TargetRow)], findings: &[FindingPeriod]) -> Vec<BlockingDependency> {
    let open: HashMap<i64, i64> = rows.iter().map(|(id, row)| (*id, row.open)).collect();
    let mut calls: HashMap<(&str, i64), i64> = HashMap::new();
    for f in findings.iter().filter(|f| f.state_at_end == "open") {
        if let Some(package) = &f.api_package {
            *calls.entry((package.as_str(), f.target_id)).or_default() += 1;
        }
    }
    let calls_elsewhere = |t: &TargetInfo| -> i64 {
        calls
            .iter()
            .filter(|((package, caller), _)| *caller != t.id && t.api_names.iter().any(|n| n == package))
            .map(|(_, n)| n)
            .sum()
    };
    // Root causes: the open calls (outside tests) whose chain ends at a thread local one of
    // the target's open UT001/UT002 findings defines, through any package's API.
    let holder_calls: Vec<db::models::impact::HolderCalls> = {
        let mut by: HashMap<(&str, &str, i64), i64> = HashMap::new();
        for f in findings.iter().filter(|f| f.state_at_end == "open") {
            if let Some(holder) = &f.api_holder {
                let package = f.api_package.as_deref().unwrap_or("?");
                *by.entry((holder.as_str(), package, f.target_id)).or_default() += 1;
            }
        }
        by.into_iter()
            .map(|((holder, package, caller_target_id), calls)| db::models::impact::HolderCalls {
                holder: holder.to_owned(),
                package: package.to_owned(),
                caller_target_id,
                calls,
            })
            .collect()
    };
    let root_of = |t: &TargetInfo| -> i64 {
        let definitions: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| f.target_id == t.id && f.state_at_end == "open" && matches!(f.rule.as_str(), "UT001" | "UT002"))
            .filter_map(|f| f.symbol.as_deref().map(|symbol| (symbol, f.path.as_str())))
            .collect();
        db::models::impact::calls_ending_at(&holder_calls, t.id, &definitions).map(|c| c.calls).sum()
    };
    let mut list: Vec<BlockingDependency> = targets
        .iter()
        .filter(|t| t.kind == TargetKind::Dependency && !t.pinned_by.is_empty())
        .filter_map(|t| {
            let open = *open.get(&t.id).filter(|open| **open > 0)?;
            let calls_elsewhere = calls_elsewhere(t);
            Some(BlockingDependency {
                name: t.name.clone(),
                open,
                repositories: t.pinned_by.clone(),
                calls_elsewhere,
                root_of: root_of(t),
            })
        })
        .collect();
    // The root causes first, then what their APIs pass on.
    list.sort_by(|a, b| {
        (b.root_of, b.calls_elsewhere, b.repositories.len(), b.open, &a.name).cmp(&(
            a.root_of,
            a.calls_elsewhere,
            a.repositories.len(),
            a.open,
            &b.name,
        ))
    });
    list.truncate(BLOCKING_LIST_LEN);
    list
}

fn issue_ref(item: &GitHubSnapshot) -> GitHubRef {
    GitHubRef {
        repository: item.repository.clone(),
        number: item.number,
        title: item.title.clone(),
        url: item.url.clone(),
        author: item.author.clone(),
        closed_by: item.closed_by.as_ref().map(|closer| match closer {
            Closer::Pull { reference, url, author } => {
                ClosedBy { pull_request: Some(reference.clone()), url: Some(url.clone()), login: author.clone() }
            }
            Closer::Actor(login) => ClosedBy { pull_request: None, url: None, login: Some(login.clone()) },
        }),
    }
}

/// The target rows of repositories with an owner team, summed per team, most open first.
fn team_rows<'a>(
    rows: impl Iterator<Item = &'a TargetRow>,
    team_of: &std::collections::HashMap<String, String>,
) -> Vec<TeamRow> {
    let mut teams: std::collections::BTreeMap<&str, TeamRow> = std::collections::BTreeMap::new();
    for row in rows {
        let Some(team) = team_of.get(&row.name) else { continue };
        let entry = teams.entry(team).or_insert_with(|| TeamRow { team: team.clone(), ..Default::default() });
        entry.repositories += 1;
        entry.open += row.open;
        entry.open_change += row.open_change;
        entry.fixed_this_week += row.fixed_this_week;
        entry.new_this_week += row.new_this_week;
    }
    let mut teams: Vec<TeamRow> = teams.into_values().collect();
    teams.sort_by(|a, b| b.open.cmp(&a.open).then(a.team.cmp(&b.team)));
    teams
}
