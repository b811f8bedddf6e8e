//! `/repos/:owner/:name` and `/deps/:name`: one target's progress, owner, files, rules,
//! findings, GitHub issues and pull requests, and the dependencies that block it.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::{
    changes::{FixAll, RuleFixes},
    finding_table::FindingTable,
    ownership::{OwnershipControls, PageViewer},
    ui::{error_text, href_with_query, target_href, when, Alert, FormError, ProgressBar, TargetProgress, LINK},
};
use db::views::{FindingPage, TargetDetail};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetPageData {
    pub detail: TargetDetail,
    pub findings: FindingPage,
    pub viewer: Option<PageViewer>,
    /// A repository's fixable open findings, per rule ("Fix all").
    pub fixes: Vec<RuleFixes>,
    /// Why this server cannot open pull requests, if it cannot.
    pub pull_requests_unavailable: Option<String>,
    /// A root cause's sub-issue link (its thread locals are where calls elsewhere end), unless
    /// an open GitHub issue is already about the target (then the page links that).
    pub root_cause_issue: Option<String>,
}

#[server(prefix = "/api", endpoint = "target")]
pub async fn get_target(name: String) -> Result<Option<TargetPageData>, ServerFnError> {
    let state = crate::server::state()?;
    let pool = state.pool.clone();
    let base_url = state.reports.base_url.clone();
    let key = format!("target:{name}");
    let read = crate::server::cached(key, async move {
        let Some(detail) = db::models::targets::detail(&pool, &name).await? else { return Ok(None) };
        let fixes = if detail.summary.kind.is_repository() {
            rule_fixes(&pool, detail.summary.id, &name).await?
        } else {
            Vec::new()
        };
        let filter = db::views::FindingFilter { target: Some(name.clone()), ..Default::default() };
        let findings = db::models::findings::explore(&pool, &filter, None).await?;
        let filed = detail.github.iter().any(|g| g.kind == "issue" && g.state == "open");
        let root_cause_issue = match db::models::epic::main_epic(&pool).await? {
            Some(epic) if !filed && !detail.root_holders.is_empty() => {
                crate::components::upstream_issue::root_cause_issue_url(
                    &crate::components::upstream_issue::RootCauseIssue {
                        epic: &format!("{}#{}", epic.repository, epic.number),
                        target: &name,
                        holders: &detail.root_holders,
                        target_url: &format!(
                            "{}{}",
                            base_url.trim_end_matches('/'),
                            crate::components::ui::target_href(&name, detail.summary.kind)
                        ),
                    },
                )
            }
            _ => None,
        };
        Ok(Some((detail, findings, fixes, root_cause_issue)))
    });
    let Some((detail, findings, fixes, root_cause_issue)) = read.await? else {
        crate::error::AppError::not_found("no such target").into_server_fn_error();
        return Ok(None);
    };
    Ok(Some(TargetPageData {
        detail,
        findings,
        viewer: crate::components::ownership::current_viewer().await?,
        fixes,
        pull_requests_unavailable: state.pull_requests_unavailable,
        root_cause_issue,
    }))
}

/// Per rule, the open findings of repository `target_id` with a fix, the first previews, and
/// the rule's live change.
#[cfg(feature = "ssr")]
async fn rule_fixes(pool: &sqlx::PgPool, target_id: i64, name: &str) -> sqlx::Result<Vec<RuleFixes>> {
    use db::models::changes;
    let live: Vec<db::views::ChangeView> =
        changes::list(pool, Some(name), 200).await?.into_iter().filter(|c| c.state.is_live()).collect();
    let mut out = Vec::new();
    for (rule, safe, unsafe_count) in changes::fixable_by_rule(pool, target_id).await? {
        let previews = changes::previews(pool, target_id, &rule, 20).await?;
        let change = live.iter().find(|c| c.rule.as_deref() == Some(rule.as_str())).cloned();
        let name = scanner::rules::by_id(&rule).map(|r| r.name.to_owned()).unwrap_or_default();
        out.push(RuleFixes { rule, name, safe, unsafe_count, previews, change });
    }
    Ok(out)
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || {
        let p = params.read();
        format!("{}/{}", p.get("owner").unwrap_or_default(), p.get("name").unwrap_or_default())
    };
    view! { <TargetPage name=Signal::derive(name) /> }
}

#[component]
pub fn DependencyPage() -> impl IntoView {
    let params = use_params_map();
    view! { <TargetPage name=Signal::derive(move || params.read().get("name").unwrap_or_default()) /> }
}

#[component]
fn TargetPage(name: Signal<String>) -> impl IntoView {
    let data = Resource::new(move || name.get(), get_target);
    view! {
        <Title text=name />
        <FormError />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(data)) => view! { <TargetBody data /> }.into_any(),
                    Ok(None) => view! { <crate::pages::NotFound /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TargetBody(data: TargetPageData) -> impl IntoView {
    let TargetPageData { detail, findings, viewer, fixes, pull_requests_unavailable, root_cause_issue } = data;
    // A maintainer, or whoever claimed the whole repository (they own its findings).
    let may_fix = viewer.as_ref().is_some_and(|v| v.maintainer || detail.owner.as_deref() == Some(v.login.as_str()));
    let s = detail.summary;
    let dependency = !s.kind.is_repository();
    let all_findings = href_with_query("/findings", &[("target", &s.name)]);
    let maintainer = viewer.as_ref().is_some_and(|v| v.maintainer);
    view! {
        <nav aria-label="Breadcrumb" class="text-sm">
            <a class=LINK href=if dependency { "/deps" } else { "/repos" }>{if dependency { "Dependencies" } else { "Repositories" }}</a>
            " / "
        </nav>
        <h1 class="font-mono text-2xl font-semibold" data-testid="target-name">{s.name.clone()}</h1>
        <p class="text-sm text-slate-600 dark:text-slate-300">
            {s.kind.as_str()}
            {s.last_scan_at.as_ref().map(|at| format!(" · last scanned {}", when(at)))}
            {s.last_revision.clone().map(|r| format!(" at {}", r.chars().take(12).collect::<String>()))}
            {(!s.pinned.is_empty()).then(|| format!(" · pinned {}", s.pinned.join(", ")))}
            {(dependency && s.pinned.is_empty()).then_some(" · unpinned: no requirements file pins it any more (its findings are kept as the last scan saw them, not counted fixed)")}
        </p>
        {maintainer.then(|| view! { <div class="mt-2"><crate::pages::admin::RescanButton target_id=s.id /></div> })}
        <div class="mt-4 grid gap-6 md:grid-cols-2">
            <section aria-labelledby="progress-heading">
                <h2 id="progress-heading" class="text-lg font-semibold">"Progress"</h2>
                <TargetProgress summary=s.clone() />
                <p class="mt-1 text-sm" data-testid="target-counts">{format!(
                    "{} open · {} fixed · {} triaged away · {} open PRs",
                    s.progress.open, s.progress.fixed, s.progress.triaged_away, s.open_pulls
                )}</p>
                <p class="mt-1 text-xs text-slate-600 dark:text-slate-300">{format!(
                    "In scope: every rule but UT100, outside test code. Not counted: {} already on context variables, {} open in test code.",
                    s.progress.migrated, s.progress.tests_open
                )}</p>
                {(!detail.unread_files.is_empty()).then(|| view! {
                    <div class="mt-2 text-sm" data-testid="unread-files">
                        <p>{format!("Not read by its last scan ({} {}): their findings stay as an earlier scan saw them.",
                            s.files_failed, if s.files_failed == 1 { "file" } else { "files" })}</p>
                        <ul class="mt-1 list-inside list-disc break-all text-xs">
                            {detail.unread_files.iter().map(|(path, reason)| view! {
                                <li><code>{path.clone()}</code>{format!(": {reason}")}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                })}
                {detail.coverage.clone().filter(|c| c.partially_parsed_count + c.computed_imports_count > 0).map(|c| view! { <CoverageNote coverage=c /> })}
                {dependency.then(|| view! {
                    <p class="mt-1 text-sm">"Pulled in by: " {if s.pulled_in_by.is_empty() { "—".to_owned() } else { s.pulled_in_by.join(", ") }}
                        {format!(" · blocks {} repositories", s.blocks_repositories)}</p>
                    <p class="mt-1 text-sm" data-testid="reached-counts">{match s.open_reached {
                        Some((reached, unreached)) => format!("{reached} open in modules tracked code imports · {unreached} in modules it does not"),
                        None => "Reachability not known yet (no import index).".to_owned(),
                    }}</p>
                })}
            </section>
            <section aria-labelledby="owner-heading">
                <h2 id="owner-heading" class="text-lg font-semibold">"Owner"</h2>
                <OwnershipControls kind="target" id=s.id owner=detail.owner.clone() through_target=false viewer=viewer />
            </section>
        </div>
        <FixAll target=s.name.clone() rules=fixes unavailable=pull_requests_unavailable.clone() allowed=may_fix />
        {detail.upgrade.clone().map(|advice| {
            let bump = maintainer.then(|| pull_requests_unavailable.clone().map_or(Ok(()), Err));
            view! { <UpgradeSection advice package=s.name.clone() bump /> }
        })}
        {(dependency || !detail.apis.is_empty()).then(|| view! { <ApiImpacts apis=detail.apis.clone() impact=s.impact root_calls=s.root_calls holders=detail.root_holders.clone() root_cause_issue=root_cause_issue.clone() /> })}
        <section aria-labelledby="findings-heading" class="mt-8">
            <h2 id="findings-heading" class="text-lg font-semibold">
                "Open findings " <span class="text-slate-500">{format!("({})", findings.total)}</span>
            </h2>
            {if findings.rows.is_empty() {
                view! { <p class="text-sm text-slate-600 dark:text-slate-300">"No open findings."</p> }.into_any()
            } else {
                view! { <FindingTable rows=findings.rows hide_target=true /> }.into_any()
            }}
            <p class="mt-2 text-sm"><a class=LINK href=all_findings>"All of its findings in the explorer →"</a></p>
        </section>
        <div class="mt-8 grid gap-6 md:grid-cols-2">
            <section aria-labelledby="gh-heading">
                <h2 id="gh-heading" class="text-lg font-semibold">"GitHub issues and pull requests"</h2>
                <crate::components::links::GitHubList items=detail.github on_target=true maintainer />
                {maintainer.then(|| view! { <crate::components::links::AttachLinkForm kind="target" id=s.id /> })}
            </section>
            <section aria-labelledby="rules-heading">
                <h2 id="rules-heading" class="text-lg font-semibold">"By rule"</h2>
                <ul class="space-y-2 text-sm">
                    {detail.rules.into_iter().map(|r| view! {
                        <li><a class=LINK href=format!("/rules/{}", r.rule)>{r.rule.clone()}</a>" "{r.name.clone()}<ProgressBar progress=r.progress label=r.rule /></li>
                    }).collect_view()}
                </ul>
            </section>
            <section aria-labelledby="files-heading">
                <h2 id="files-heading" class="text-lg font-semibold">"By file"</h2>
                <table class="w-full text-sm">
                    <thead><tr class="text-left"><th scope="col">"File"</th><th scope="col">"Open"</th><th scope="col">"Total"</th></tr></thead>
                    <tbody>
                        {detail.files.into_iter().map(|f| view! {
                            <tr class="border-t border-slate-200 dark:border-slate-800"><td class="font-mono text-xs">{f.path}</td><td class="tabular-nums">{f.open}</td><td class="tabular-nums">{f.total}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            {(!dependency).then(|| view! {
                <section aria-labelledby="blockers-heading">
                    <h2 id="blockers-heading" class="text-lg font-semibold">"Blocked by dependencies"</h2>
                    {detail.blockers.is_empty().then(|| view! { <p class="text-sm text-slate-600 dark:text-slate-300">"No dependency with open findings."</p> })}
                    <ul class="space-y-1 text-sm" data-testid="blockers">
                        {detail.blockers.into_iter().map(|b| view! {
                            <li>
                                <a class=LINK href=target_href(&b.package, db::kinds::TargetKind::Dependency)>{b.package.clone()}</a>
                                {b.version.map(|v| format!(" {v}"))}
                                {format!(" · {} open · via {}", b.open, b.chain.join(" → "))}
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
        </div>
    }
}

/// A dependency's thread-local-backed APIs and their callers elsewhere (its impact).
#[component]
fn ApiImpacts(
    apis: Vec<db::views::ApiImpact>,
    impact: (i64, i64),
    root_calls: i64,
    holders: Vec<db::views::RootHolder>,
    root_cause_issue: Option<String>,
) -> impl IntoView {
    let (calls, targets) = impact;
    let summary = if apis.is_empty() {
        "No thread-local-backed API found in its latest scan.".to_owned()
    } else {
        format!(
            "{} thread-local-backed APIs, called from {calls} places in {targets} targets (open UT011 findings: migrating it would clear them).",
            apis.len()
        )
    };
    view! {
        <section aria-labelledby="apis-heading" class="mt-8" data-testid="apis">
            <h2 id="apis-heading" class="text-lg font-semibold">"Thread-local APIs and their callers"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-300">{summary}</p>
            {(root_calls != calls).then(|| view! {
                <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="root-calls">
                    {if root_calls == 0 {
                        "None of these calls ends at a thread local of its own: they go through it to another package's (see the chains), which is where they are cleared.".to_owned()
                    } else {
                        format!("{root_calls} open calls elsewhere end at its own thread locals, through its APIs or another package's: it is their root cause, and migrating its thread locals clears them all.")
                    }}
                </p>
            })}
            {(!holders.is_empty()).then(|| view! {
                <ul class="mt-1 text-sm" data-testid="root-holders">
                    {holders.into_iter().map(|h| {
                        let through = h.through.iter().map(|(package, n)| format!("{package} ({n})")).collect::<Vec<_>>().join(", ");
                        view! { <li><code>{h.holder.clone()}</code>{format!(": {} calls, through the APIs of {through}", h.calls)}</li> }
                    }).collect_view()}
                </ul>
            })}
            {root_cause_issue.map(|href| view! {
                <p class="mt-1 text-sm"><a class=LINK href=href data-testid="file-root-cause">"File a sub-issue for this root cause"</a>
                    <span class="text-xs text-slate-500">" (a GitHub issue in the epic's repository, prefilled; no open issue is about it yet)"</span></p>
            })}
            <ul class="mt-2 space-y-3 text-sm">
                {apis.into_iter().map(|api| {
                    let chain = api.chain.iter().skip(1).map(|step| step.strip_prefix("signal ").map_or_else(|| step.clone(), |s| format!("signal {s}"))).collect::<Vec<_>>().join(" → ");
                    view! {
                        <li data-testid="api">
                            <code class="font-semibold">{api.qualname.clone()}</code>
                            {(!api.kind.is_empty()).then(|| format!(" ({})", api.kind))}
                            {format!(" · {} call{}", api.calls, if api.calls == 1 { "" } else { "s" })}
                            {(!chain.is_empty()).then(|| view! { <span class="block text-xs text-slate-600 dark:text-slate-300">"→ "{chain}</span> })}
                            {(!api.path.is_empty()).then(|| view! { <span class="block font-mono text-xs text-slate-500">{format!("{}:{}", api.path, api.line)}</span> })}
                            <ul class="ml-4 list-disc">
                                {api.callers.into_iter().map(|c| view! {
                                    <li data-testid="api-caller">
                                        <a class=LINK href=target_href(&c.target, c.kind)>{c.target.clone()}</a>
                                        {format!(" · {} ", c.calls)}
                                        <a class=LINK href=format!("/findings/{}", c.example)>"example"</a>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// What a newer release of the dependency would clear (see `db::models::upgrades`).
#[component]
fn UpgradeSection(
    advice: db::views::UpgradeAdvice,
    package: String,
    /// A maintainer may open the bump's pull request (`None`: they may), else why not.
    bump: Option<Result<(), String>>,
) -> impl IntoView {
    let pinned = advice.pinned.clone().unwrap_or_else(|| "the pinned version".into());
    // The release clearing the most; on a tie the smaller step (not the newest major), as
    // the bump's pull request chooses.
    let best = advice.options.iter().filter(|o| o.clears > 0).max_by_key(|o| (o.clears, !o.newest));
    let bump = best.zip(bump).map(|(o, allowed)| (o.version.clone(), allowed));
    let verdict = match (advice.options.is_empty(), best) {
        _ if advice.open == 0 => format!("No open findings in {pinned}."),
        (true, _) => format!("No newer release than {pinned} on the index."),
        (false, Some(o)) => format!("Bump to {} clears {} of {} open findings.", o.version, o.clears, advice.open),
        (false, None) => format!(
            "Needs an upstream fix: still in the latest release{}.",
            advice.newest.as_ref().map(|v| format!(" ({v})")).unwrap_or_default()
        ),
    };
    let issue = match (&advice.upstream, &advice.newest) {
        (Some(repository), Some(newest)) if !advice.still_in_newest.is_empty() => {
            Some(crate::components::upstream_issue::upstream_issue_url(
                repository,
                &package,
                newest,
                &advice.still_in_newest,
            ))
        }
        _ => None,
    };
    view! {
        <section aria-labelledby="upgrade-heading" class="mt-8" data-testid="upgrade">
            <h2 id="upgrade-heading" class="text-lg font-semibold">"Upgrade advice"</h2>
            <p class="text-sm" data-testid="upgrade-verdict">{verdict}</p>
            {bump.map(|(version, allowed)| match allowed {
                Ok(()) => view! {
                    <form method="post" action=crate::components::changes::OpenChange::url() class="mt-2" data-testid="open-bump">
                        <input type="hidden" name="bump" value=package.clone() />
                        <button type="submit" class=crate::components::ui::BUTTON>{format!("Open a bump pull request ({pinned} → {version})")}</button>
                    </form>
                }.into_any(),
                Err(why) => view! { <p class="mt-1 text-xs" data-testid="pull-request-unavailable">{why}</p> }.into_any(),
            })}
            <ul class="mt-2 space-y-2 text-sm">
                {advice.options.into_iter().map(|o| view! {
                    <li data-testid="upgrade-option">
                        <strong>{o.version.clone()}</strong>
                        {match (o.newest, o.newest_in_major) {
                            (true, true) => " (newest)",
                            (true, false) => " (newest)",
                            (false, true) => " (newest of the pinned major version)",
                            (false, false) => "",
                        }}
                        {format!(": clears {} of {}", o.clears, advice.open)}
                        <span class="block text-xs text-slate-600 dark:text-slate-300">
                            {format!("Requires-Python: {}", o.requires_python.clone().unwrap_or_else(|| "not stated".into()))}
                            {(!o.requires_dist.is_empty()).then(|| format!(" · requires: {}", o.requires_dist.join(", ")))}
                        </span>
                    </li>
                }).collect_view()}
            </ul>
            <p class="mt-1 text-xs text-slate-500">
                {format!("Checked {} against the package index. Compared by fingerprint with the scan of {pinned}; no claim that the bump is compatible.", when(&advice.checked_at))}
            </p>
            {advice.upstream.clone().map(|repository| view! {
                <p class="mt-2 text-sm">
                    "Upstream: " <a class=LINK href=repository.clone()>{repository.trim_start_matches("https://github.com/").to_owned()}</a>
                    {issue.clone().map(|url| view! { " · " <a class=LINK href=url data-testid="upstream-issue">"open an upstream issue"</a> })}
                </p>
            })}
        </section>
    }
}

/// What the last scan read without analysing it whole: files with syntax errors, imports by a
/// computed name (files it did not read at all are listed above it).
#[component]
fn CoverageNote(coverage: db::views::CoverageView) -> impl IntoView {
    let plural = |n: i64, one: &str, many: &str| if n == 1 { one.to_owned() } else { many.to_owned() };
    let more = |shown: usize, count: i64| {
        (count > shown as i64).then(|| view! { <li>{format!("… and {} more", count - shown as i64)}</li> })
    };
    let (parsed, parsed_count) = (coverage.partially_parsed.clone(), coverage.partially_parsed_count);
    let (computed, computed_count) = (coverage.computed_imports.clone(), coverage.computed_imports_count);
    view! {
        <div class="mt-2 text-sm" data-testid="coverage">
            {(parsed_count > 0).then(|| view! {
                <p>{format!("{parsed_count} {} with syntax errors: findings come from the parts that parsed.", plural(parsed_count, "file", "files"))}</p>
                <ul class="mt-1 list-inside list-disc break-all text-xs">
                    {parsed.iter().take(20).map(|path| view! { <li><code>{path.clone()}</code></li> }).collect_view()}
                    {more(parsed.len().min(20), parsed_count)}
                </ul>
            })}
            {(computed_count > 0).then(|| view! {
                <p class="mt-1">{format!("{computed_count} {} a module by a computed name: what they import is not followed.", plural(computed_count, "import names", "imports name"))}</p>
                <ul class="mt-1 list-inside list-disc break-all text-xs">
                    {computed.iter().take(20).map(|(path, line)| view! { <li><code>{format!("{path}:{line}")}</code></li> }).collect_view()}
                    {more(computed.len().min(20), computed_count)}
                </ul>
            })}
        </div>
    }
}
