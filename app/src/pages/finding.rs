//! `/findings/:id`: one finding — its code, the rule's help, linked issues and pull
//! requests, its full history, and the claim / assign / triage actions.

use db::kinds::FindingState;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::{
    changes::{fix_diff, ChangeNote, OpenPullRequest},
    ownership::{OwnershipControls, PageViewer},
    triage::TriageForm,
    ui::{error_text, target_href, when, Alert, FormError, StateBadge, LINK},
};
use db::views::FindingDetail;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingPageData {
    pub detail: FindingDetail,
    /// The rule's name and its help from the catalogue, rendered to HTML.
    pub rule_name: String,
    pub rule_help_html: String,
    pub viewer: Option<PageViewer>,
    /// A maintainer's "file a sub-issue" link (an open repository finding, once an epic is
    /// synced).
    pub file_sub_issue: Option<String>,
    /// The newest change (pull request) Unthread queued or opened for it.
    pub change: Option<db::views::ChangeView>,
    /// Why this server cannot open pull requests, if it cannot.
    pub pull_requests_unavailable: Option<String>,
    /// The lines on GitHub at the commit the finding was last seen at (a repository's).
    pub permalink: Option<String>,
    /// A dependency's: the lines in its upstream repository at the tag named like the
    /// version its last scan read, with that version (a guess the page says it is).
    pub upstream_link: Option<(String, String)>,
}

#[server(prefix = "/api", endpoint = "finding")]
pub async fn get_finding(id: i64) -> Result<Option<FindingPageData>, ServerFnError> {
    let pool = crate::server::state()?.pool;
    let detail =
        crate::server::cached(format!("finding:{id}"), async move { db::models::findings::detail(&pool, id).await });
    let Some(detail) = detail.await? else {
        crate::error::AppError::not_found("no such finding").into_server_fn_error();
        return Ok(None);
    };
    let (rule_name, rule_help_html) = match scanner::rules::by_id(&detail.row.rule) {
        Some(rule) => (rule.name.to_owned(), crate::markdown::to_html(&rule.help_markdown())),
        None => (detail.row.rule.clone(), String::new()),
    };
    let viewer = crate::components::ownership::current_viewer().await?;
    let maintainer = viewer.as_ref().is_some_and(|v| v.maintainer);
    let state = crate::server::state()?;
    let change = {
        let mut db = state.pool.acquire().await.map_err(crate::server::database_error)?;
        db::models::changes::for_finding(&mut db, id).await.map_err(crate::server::database_error)?
    };
    let pull_requests_unavailable = state.pull_requests_unavailable.clone();
    // What its last scan read: a repository's commit (its permalink, its sub-issue), or a
    // dependency's version (its lines upstream at that tag).
    let failed = crate::server::database_error;
    let revision = db::models::findings::last_seen_revision(&state.pool, id).await.map_err(failed)?;
    let (commit, upstream_link) = if detail.row.target_kind.is_repository() {
        (revision.filter(|revision| is_commit(revision)), None)
    } else {
        let upstream = db::models::upgrades::upstream_of(&state.pool, detail.target_id).await.map_err(failed)?;
        let link = revision.zip(upstream).and_then(|(version, upstream)| {
            Some((upstream_permalink(&detail, upstream.strip_prefix("https://github.com/")?, &version)?, version))
        });
        (None, link)
    };
    let permalink = commit.as_deref().and_then(|commit| github_permalink(&detail, commit));
    // An open item that already names the finding is where the work is tracked: no second one.
    let tracked = detail
        .github
        .iter()
        .any(|g| g.scope == db::views::LinkScope::Finding && g.state != "closed" && g.state != "merged");
    let file_sub_issue =
        if maintainer && detail.row.target_kind.is_repository() && detail.fixed_at.is_none() && !tracked {
            sub_issue_link(&detail, &rule_name, commit.as_deref()).await?
        } else {
            None
        };
    Ok(Some(FindingPageData {
        detail,
        rule_name,
        rule_help_html,
        viewer,
        file_sub_issue,
        change,
        pull_requests_unavailable,
        permalink,
        upstream_link,
    }))
}

/// Whether a scan's revision is a commit (a sha; a dependency's version is not): only a
/// commit makes a permalink.
fn is_commit(revision: &str) -> bool {
    (7..=64).contains(&revision.len()) && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `https://github.com/<repository>/blob/<commit>/<path>#L<line>-L<end>`, when the revision is
/// a commit and the target is named as a GitHub repository.
pub fn github_permalink(detail: &FindingDetail, commit: &str) -> Option<String> {
    if !is_commit(commit) {
        return None;
    }
    blob_url(detail, &detail.row.target, commit)
}

/// A dependency's lines in its upstream repository (`owner/repo`) at the tag `version`:
/// `https://github.com/<repository>/blob/<version>/<path>#L…`. A version holding anything but
/// the characters of a release number makes none.
pub fn upstream_permalink(detail: &FindingDetail, repository: &str, version: &str) -> Option<String> {
    let plain = !version.is_empty()
        && !version.contains("..")
        && version.chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
    plain.then(|| blob_url(detail, repository, version)).flatten()
}

/// `https://github.com/<repository>/blob/<revision>/<path>#L<line>-L<end>`, when `repository`
/// is an `owner/repo` name.
fn blob_url(detail: &FindingDetail, repository: &str, revision: &str) -> Option<String> {
    let row = &detail.row;
    let is_repository = repository.split('/').count() == 2
        && repository
            .split('/')
            .all(|p| !p.is_empty() && p != ".." && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    if !is_repository {
        return None;
    }
    let lines = if detail.end_line > row.line {
        format!("L{}-L{}", row.line, detail.end_line)
    } else {
        format!("L{}", row.line)
    };
    let path: String = row
        .path
        .split('/')
        .map(|p| form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/");
    Some(format!("https://github.com/{repository}/blob/{revision}/{path}#{lines}"))
}

#[cfg(feature = "ssr")]
async fn sub_issue_link(
    detail: &FindingDetail,
    rule_name: &str,
    commit: Option<&str>,
) -> Result<Option<String>, ServerFnError> {
    let state = crate::server::state()?;
    let failed = crate::server::database_error;
    let Some(epic) = db::models::epic::main_epic(&state.pool).await.map_err(failed)? else { return Ok(None) };
    let f = &detail.row;
    let help = scanner::rules::by_id(&f.rule).map(|r| r.help_markdown()).unwrap_or_default();
    let finding_url = format!("{}/findings/{}", state.reports.base_url.trim_end_matches('/'), f.id);
    let runs_at = detail.runs_at.as_ref().filter(|r| r.at != "unknown").map(|r| {
        let when = match r.at.as_str() {
            "request" => "request time",
            "worker" => "worker time (Celery)",
            "start-up" => "start-up or first use only",
            _ => "test time only",
        };
        let path = if r.path.len() > 1 { format!(" ({})", r.path.join(" → ")) } else { String::new() };
        format!("{when}: {}{path}", r.why)
    });
    let epic = format!("{}#{}", epic.repository, epic.number);
    Ok(Some(crate::components::upstream_issue::sub_issue_url(&crate::components::upstream_issue::SubIssue {
        repository: &f.target,
        epic: &epic,
        path: &f.path,
        line: f.line,
        end_line: detail.end_line,
        commit,
        rule: &f.rule,
        rule_name,
        symbol: f.symbol.as_deref().unwrap_or(""),
        message: &detail.message,
        rule_help: &help,
        runs_at: runs_at.as_deref(),
        finding_url: &finding_url,
    })))
}

#[component]
pub fn FindingPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let data = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_finding(id).await,
            None => Ok(None),
        }
    });
    view! {
        <Title text=move || id().map(|id| format!("Finding {id}")).unwrap_or_else(|| "Finding".into()) />
        <FormError />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(data)) => view! { <FindingBody data /> }.into_any(),
                    Ok(None) => view! { <crate::pages::NotFound /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The finding's lines (marked) with the lines around them as its last scan read them, or
/// its first line alone when the scan gave no context.
#[component]
fn CodeLines(context: Option<db::views::SourceLines>, line: i32, end_line: i32, snippet: String) -> impl IntoView {
    let (start, lines) = match context {
        Some(context) => (i64::from(context.start_line), context.lines),
        None => (i64::from(line), vec![snippet]),
    };
    let marked = i64::from(line)..=i64::from(end_line.max(line));
    let rows = lines
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let number = start + i as i64;
            let here = marked.contains(&number);
            let class = if here { "block bg-amber-400/25 text-white" } else { "block text-slate-400" };
            view! {
                <span class=class data-testid=if here { "finding-line" } else { "context-line" }>
                    {format!("{number:>5} {} {text}", if here { '▶' } else { ' ' })}
                </span>
            }
        })
        .collect_view();
    view! {
        <pre class="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-sm text-slate-100" data-testid="snippet"><code class="inline-block min-w-full">{rows}</code></pre>
    }
}

#[component]
fn FindingBody(data: FindingPageData) -> impl IntoView {
    let FindingPageData {
        detail: d,
        rule_name,
        rule_help_html,
        viewer,
        file_sub_issue,
        change,
        pull_requests_unavailable,
        permalink,
        upstream_link,
    } = data;
    let f = d.row.clone();
    let maintainer = viewer.as_ref().is_some_and(|v| v.maintainer);
    // Who may open its pull request: a maintainer, or its owner (a fix of a repository's code).
    let may_open = viewer.as_ref().is_some_and(|v| v.maintainer || f.owner.as_deref() == Some(v.login.as_str()))
        && f.target_kind.is_repository();
    // Unthread's owner and GitHub's assignees may disagree: show both, flag the difference.
    let disagreement = match &f.owner {
        Some(owner) => {
            !d.github_assignees.is_empty() && !d.github_assignees.iter().any(|a| a.eq_ignore_ascii_case(owner))
        }
        None => !d.github_assignees.is_empty(),
    };
    view! {
        <nav aria-label="Breadcrumb" class="text-sm">
            <a class=LINK href="/findings">"Findings"</a>" / "
            <a class=LINK href=target_href(&f.target, f.target_kind)>{f.target.clone()}</a>
        </nav>
        <h1 class="mt-1 text-2xl font-semibold" data-testid="finding-title">
            <a class=LINK href=format!("/rules/{}", f.rule)>{f.rule.clone()}</a>" "{rule_name}" "
            <StateBadge state=f.state.map_or("gone", FindingState::as_str).to_owned() />
        </h1>
        <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="finding-message"><InlineCode text=d.message.clone() /></p>
        <section aria-labelledby="code-heading" class="mt-4">
            <h2 id="code-heading" class="sr-only">"Code"</h2>
            <p class="break-all font-mono text-sm">
                {match permalink {
                    Some(href) => view! {
                        <a class=LINK href=href target="_blank" rel="noopener" data-testid="permalink" title="These lines on GitHub, at the commit the last scan read">
                            {format!("{}:{}:{}", f.path, f.line, d.column)}
                        </a>
                    }.into_any(),
                    None => view! { <span>{format!("{}:{}:{}", f.path, f.line, d.column)}</span> }.into_any(),
                }}
                {f.symbol.clone().map(|s| view! { " in " <code>{s}</code> })}
                {d.conditional.then_some(" (inside a try/except import fallback)")}
            </p>
            {upstream_link.map(|(href, version)| view! {
                <p class="text-sm">
                    <a class=LINK href=href target="_blank" rel="noopener" data-testid="upstream-permalink">{format!("Upstream on GitHub, tag {version}")}</a>
                    <span class="text-slate-500">" — assumes the release is tagged with its version and laid out as published"</span>
                </p>
            })}
            <CodeLines context=d.context.clone() line=f.line end_line=d.end_line snippet=f.snippet.clone().unwrap_or_default() />
            <p class="mt-1 text-xs text-slate-500">
                {d.first_seen.as_ref().map(|at| format!("First seen {}", when(at)))}
                {d.fixed_at.as_ref().map(|at| format!(" · fixed {}", when(at)))}
                {format!(" · triage: {}", f.triage.as_str().replace('_', " "))}
                {d.triage_reason.clone().map(|r| format!(" ({r})"))}
            </p>
        </section>
        {d.fix.clone().filter(|_| f.state == Some(FindingState::Open)).map(|fix| {
            let safe = fix.applicability == "safe";
            view! {
                <FixPreview fix line=f.line snippet=f.snippet.clone().unwrap_or_default() />
                {match change.clone() {
                    Some(change) => view! { <ChangeNote change /> }.into_any(),
                    None if may_open => view! { <OpenPullRequest finding=f.id safe unavailable=pull_requests_unavailable.clone() /> }.into_any(),
                    None => ().into_any(),
                }}
            }
        })}
        {change.clone().filter(|_| f.state != Some(FindingState::Open)).map(|change| view! { <ChangeNote change /> })}
        <ReachNote reach=d.reach.clone() />
        {(d.runs_at.is_some() || d.runs_at_via.is_some() || d.unplaced_write).then(|| {
            view! { <RunsAtNote runs_at=d.runs_at.clone() via=d.runs_at_via.clone() unplaced=d.unplaced_write /> }
        })}
        {(d.calls_elsewhere.0 > 0).then(|| view! {
            <p class="mt-1 text-sm" data-testid="call-evidence">
                {format!(
                    "Call evidence: its package's thread-local APIs are called from {} place{} in {} other target{} (UT011).",
                    d.calls_elsewhere.0,
                    if d.calls_elsewhere.0 == 1 { "" } else { "s" },
                    d.calls_elsewhere.1,
                    if d.calls_elsewhere.1 == 1 { "" } else { "s" }
                )}
                " " <a class=LINK href=target_href(&f.target, f.target_kind)>"Which APIs, and who calls them"</a>
            </p>
        })}
        {d.newest_release.clone().map(|(version, fixed)| view! {
            <p class="mt-1 text-sm" data-testid="release">
                {if fixed { format!("Fixed in {version}, the newest release: bumping the pin clears it.") } else { format!("Still in the latest release, {version}: needs an upstream fix.") }}
            </p>
        })}
        <div class="mt-6 grid gap-6 md:grid-cols-2">
            <section aria-labelledby="owner-heading">
                <h2 id="owner-heading" class="text-lg font-semibold">"Owner"</h2>
                <OwnershipControls kind="finding" id=f.id owner=f.owner.clone() through_target=f.owner_through_target viewer=viewer.clone() />
                {(!d.github_assignees.is_empty()).then(|| view! {
                    <p class="mt-2 text-sm" data-testid="github-assignees">
                        {format!("Assigned on GitHub: {}", d.github_assignees.join(", "))}
                        {disagreement.then(|| view! { <strong class="ml-1 text-amber-800 dark:text-amber-300" data-testid="owner-disagreement">"⚠ differs from the owner here"</strong> })}
                    </p>
                })}
                {maintainer.then(|| view! {
                    <div class="mt-4"><TriageForm id=f.id current=f.triage.as_str().to_owned() reason=d.triage_reason.clone() /></div>
                })}
            </section>
            <section aria-labelledby="gh-heading">
                <h2 id="gh-heading" class="text-lg font-semibold">"GitHub"</h2>
                <crate::components::links::GitHubList items=d.github maintainer />
                {maintainer.then(|| view! { <crate::components::links::AttachLinkForm kind="finding" id=f.id /> })}
                {file_sub_issue.map(|href| view! {
                    <p class="mt-2 text-sm">
                        <a class=LINK href=href target="_blank" rel="noopener" data-testid="file-sub-issue">"File a sub-issue on GitHub"</a>
                        <span class="text-slate-500">" — prefilled: these lines at the scanned commit, why they matter, what done means, the epic"</span>
                    </p>
                })}
            </section>
        </div>
        <section aria-labelledby="history-heading" class="mt-6">
            <h2 id="history-heading" class="text-lg font-semibold">"History"</h2>
            <ol class="mt-2 space-y-1 text-sm" data-testid="history">
                {d.history.into_iter().map(|h| view! {
                    <li><time datetime=h.at.to_rfc3339()>{when(&h.at)}</time>" · "{h.summary}{h.actor.map(|a| format!(" (by {a})"))}</li>
                }).collect_view()}
            </ol>
        </section>
        <section aria-labelledby="help-heading" class="mt-6">
            <h2 id="help-heading" class="text-lg font-semibold">"About this rule"</h2>
            // The catalogue's own Markdown, rendered on the server with raw HTML escaped.
            <div class="prose-unthread mt-2 text-sm" inner_html=rule_help_html></div>
        </section>
    }
}

/// The fix the last scan offered, as a diff of the lines it touches, with its safety and the
/// command that applies it.
#[component]
fn FixPreview(fix: db::views::FixView, line: i32, snippet: String) -> impl IntoView {
    let safe = fix.applicability == "safe";
    let command = if safe { "unthread-scan --fix" } else { "unthread-scan --fix --unsafe-fixes" };
    let diff = fix_diff(&fix, line, &snippet);
    view! {
        <section aria-labelledby="fix-heading" class="mt-4" data-testid="fix">
            <h2 id="fix-heading" class="text-lg font-semibold">
                "Fix "
                <span class=if safe {
                    "rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-medium text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100"
                } else {
                    "rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-900 dark:bg-amber-900 dark:text-amber-100"
                } data-testid="fix-safety">{if safe { "safe" } else { "unsafe: review it" }}</span>
            </h2>
            <p class="text-sm"><InlineCode text=fix.message.clone() /></p>
            <pre class="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-sm text-slate-100" data-testid="fix-diff"><code>{diff}</code></pre>
            <p class="mt-1 text-xs text-slate-600 dark:text-slate-300">
                "Apply it in a checkout with " <code>{command}</code>
                {(!safe).then_some(" — unsafe: it may change behaviour; the rule's page says when and why.")}
            </p>
        </section>
    }
}

/// Text with `inline code` spans (the rules' messages use them) shown as code, not backticks.
#[component]
fn InlineCode(text: String) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                view! { <code class="rounded bg-slate-100 px-1 dark:bg-slate-800">{part.to_owned()}</code> }.into_any()
            } else {
                view! { <span>{part.to_owned()}</span> }.into_any()
            }
        })
        .collect_view()
}

/// When the finding's code runs, and the call path from its entry point (`scanner::runs_at`).
#[component]
fn RunsAtNote(
    runs_at: Option<db::views::RunsAtView>,
    via: Option<db::views::RunsAtView>,
    /// A shared-object write (UT013) no request or task is known to make.
    unplaced: bool,
) -> impl IntoView {
    let runs_at = runs_at.unwrap_or_else(|| db::views::RunsAtView {
        at: "none".into(),
        why: "its scan did not analyse it".into(),
        path: Vec::new(),
    });
    let when = match runs_at.at.as_str() {
        "request" => "Runs at request time",
        "worker" => "Runs in a Celery worker",
        "start-up" => "Runs only at start-up (or once, on first use)",
        "tests" => "Runs only in tests",
        _ => "When it runs is not known",
    };
    let path = runs_at.path.clone();
    view! {
        <p class="mt-1 text-sm" data-testid="runs-at">
            {format!("{when}: ")}<InlineCode text=runs_at.why.clone() />
            {(!path.is_empty()).then(|| view! {
                <span class="block break-words">
                    {path.into_iter().enumerate().map(|(i, step)| view! {
                        {(i > 0).then_some(" → ")}<code>{step}</code>
                    }).collect_view()}
                </span>
            })}
            {via.map(|via| view! {
                <span class="mt-1 block" data-testid="runs-at-via">
                    {if via.at == "request" { "Used at request time" } else { "Used in a Celery worker" }}
                    " through other code: "<InlineCode text=via.why.clone() />
                    <span class="block break-words">
                        {via.path.into_iter().enumerate().map(|(i, step)| view! {
                            {(i > 0).then_some(" → ")}<code>{step}</code>
                        }).collect_view()}
                    </span>
                </span>
            })}
            {unplaced.then(|| view! {
                <span class="mt-1 block" data-testid="unplaced-write">
                    "A write to a shared object is a finding when a request is served or a task runs while it is made: until one is known to, this one is left out of the pages' counts (and counted with what they leave out)."
                </span>
            })}
            <span class="block text-xs text-slate-500 dark:text-slate-400">
                "By its package's calls, read by name: a path may pass through a call that never happens. Across packages, it runs when another target's request- or worker-time code calls one of its package's functions on the way (by name, or a re-export of it), or — a thread local — an API that ends at it (UT011)."
            </span>
        </p>
    }
}

/// How tracked code reaches the finding's module (see `db::models::reach`).
#[component]
fn ReachNote(reach: Option<Vec<String>>) -> impl IntoView {
    let text = match reach.as_deref() {
        None => view! { "Reachability not known yet: the target's latest scan has no import index." }.into_any(),
        Some([]) => view! { "Not imported by any tracked repository's non-test code." }.into_any(),
        Some([only]) => view! { "In tracked code: " <code>{only.clone()}</code> }.into_any(),
        Some(chain) => {
            let (repository, module) = chain[0].split_once(':').unwrap_or(("", chain[0].as_str()));
            let rest: Vec<String> = chain[1..].to_vec();
            view! {
                "Reached from " {repository.to_owned()} " " <code>{module.to_owned()}</code>
                {rest.into_iter().map(|m| view! { " → " <code>{m}</code> }).collect_view()}
            }
            .into_any()
        }
    };
    view! {
        <p class="mt-3 text-sm" data-testid="reach">
            {text}
            <span class="block text-xs text-slate-500 dark:text-slate-400">
                "By imports: a module imported is not a function called."
            </span>
        </p>
    }
}
