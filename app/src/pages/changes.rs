//! `/changes`: every pull request Unthread opened or was asked to open — its state,
//! repository, rule or bump, findings (and how many a rescan has since seen fixed), who asked,
//! age — with the counts per state and the merges over time. Progress itself is measured by
//! rescans: a merged change counts its findings fixed only once a scan no longer sees them.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{error_text, target_href, when, Alert, StateBadge, LINK};
use db::kinds::{ChangeState, TargetKind};
use db::views::ChangeView;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangesPageData {
    pub changes: Vec<ChangeView>,
    pub counts: Vec<(ChangeState, i64)>,
    /// The days changes were merged, with the total merged by each day's end.
    pub merged: Vec<(chrono::NaiveDate, i64)>,
    pub pull_requests_unavailable: Option<String>,
}

#[server(prefix = "/api", endpoint = "changes")]
pub async fn get_changes() -> Result<ChangesPageData, ServerFnError> {
    let state = crate::server::state()?;
    let pool = state.pool.clone();
    let (changes, counts, merged) = crate::server::cached("changes".to_owned(), async move {
        use db::models::changes;
        Ok((
            changes::list(&pool, None, 500).await?,
            changes::counts(&pool).await?,
            changes::merged_per_day(&pool).await?,
        ))
    })
    .await?;
    Ok(ChangesPageData { changes, counts, merged, pull_requests_unavailable: state.pull_requests_unavailable })
}

#[component]
pub fn ChangesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_changes());
    view! {
        <Title text="Changes" />
        <h1 class="text-2xl font-semibold">"Changes"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Pull requests Unthread opened for mechanical fixes, from a finding's page or a repository's “Fix all”. Each is followed to its merge; its findings count as fixed once a rescan no longer sees them."
        </p>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <ChangesBody data /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ChangesBody(data: ChangesPageData) -> impl IntoView {
    let ChangesPageData { changes, counts, merged, pull_requests_unavailable } = data;
    let count = |state: ChangeState| counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let summary = format!(
        "{total} change{} · {} queued · {} open · {} merged · {} closed unmerged · {} failed · {} cancelled",
        if total == 1 { "" } else { "s" },
        count(ChangeState::Queued),
        count(ChangeState::Open),
        count(ChangeState::Merged),
        count(ChangeState::Closed),
        count(ChangeState::Failed),
        count(ChangeState::Cancelled)
    );
    view! {
        <p class="mt-3 text-sm font-medium" data-testid="change-counts">{summary}</p>
        {pull_requests_unavailable.map(|why| view! { <p class="mt-1 text-sm" data-testid="pull-request-unavailable">{why}</p> })}
        <MergedOverTime merged />
        {if changes.is_empty() {
            view! { <p class="mt-4 text-sm" data-testid="empty">"No change yet: open one from a finding with a fix, or “Fix all” on a repository's page."</p> }.into_any()
        } else {
            view! {
                <div class="mt-4 overflow-x-auto">
                    <table class="w-full text-left text-sm" data-testid="changes">
                        <thead>
                            <tr class="border-b border-slate-200 dark:border-slate-700">
                                <th scope="col" class="py-1 pr-3">"Change"</th>
                                <th scope="col" class="py-1 pr-3">"State"</th>
                                <th scope="col" class="py-1 pr-3">"Repository"</th>
                                <th scope="col" class="py-1 pr-3">"Findings"</th>
                                <th scope="col" class="py-1 pr-3">"Pull request"</th>
                                <th scope="col" class="py-1 pr-3">"Asked by"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {changes.into_iter().map(|c| view! { <ChangeRow c /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn ChangeRow(c: ChangeView) -> impl IntoView {
    let subject = c.subject();
    let findings = c.findings.len();
    let first = c.findings.first().copied();
    view! {
        <tr id=format!("change-{}", c.id) class="border-b border-slate-100 align-top dark:border-slate-800" data-testid="change-row">
            <td class="py-1 pr-3">
                {subject}
                {c.unsafe_fixes.then(|| view! { <span class="ml-1 text-xs text-amber-800 dark:text-amber-300">"unsafe fixes"</span> })}
                {c.reason.clone().map(|r| view! { <span class="block max-w-md text-xs text-slate-600 dark:text-slate-300">{r}</span> })}
            </td>
            <td class="py-1 pr-3"><StateBadge state=c.state.as_str().to_owned() /></td>
            <td class="py-1 pr-3 font-mono"><a class=LINK href=target_href(&c.target, TargetKind::Library)>{c.target.clone()}</a></td>
            <td class="py-1 pr-3">
                {match (findings, first) {
                    (1, Some(id)) => view! { <a class=LINK href=format!("/findings/{id}")>"1 finding"</a> }.into_any(),
                    (n, _) => view! { <span>{format!("{n} findings")}</span> }.into_any(),
                }}
                {(c.findings_fixed > 0).then(|| format!(" · {} fixed", c.findings_fixed))}
            </td>
            <td class="py-1 pr-3">
                {match c.pull_number.zip(c.pull_url.clone()) {
                    Some((number, url)) => view! { <a class=LINK href=url target="_blank" rel="noopener">{format!("#{number}")}</a> }.into_any(),
                    None => view! { <span class="text-slate-500">"—"</span> }.into_any(),
                }}
            </td>
            <td class="py-1 pr-3">
                <a class=LINK href=format!("/people/{}", c.requested_by)>{c.requested_by.clone()}</a>
                <span class="block text-xs text-slate-500"><time datetime=c.requested_at.to_rfc3339()>{when(&c.requested_at)}</time></span>
            </td>
        </tr>
    }
}

/// Merged changes over time: a step line of the running total, from the first merge to today.
#[component]
fn MergedOverTime(merged: Vec<(chrono::NaiveDate, i64)>) -> impl IntoView {
    let (Some(first), Some(last)) = (merged.first().copied(), merged.last().copied()) else {
        return view! { <p class="mt-2 text-xs text-slate-600 dark:text-slate-300" data-testid="merged-over-time">"No change merged yet."</p> }.into_any();
    };
    let (width, height) = (600.0_f64, 80.0_f64);
    let days = (last.0 - first.0).num_days().max(1) as f64;
    let top = last.1.max(1) as f64;
    let x = |day: chrono::NaiveDate| (day - first.0).num_days() as f64 / days * (width - 20.0) + 10.0;
    let y = |n: i64| height - 10.0 - n as f64 / top * (height - 20.0);
    let mut points = vec![format!("{:.1},{:.1}", x(first.0), y(0))];
    let mut previous = 0;
    for (day, total) in &merged {
        points.push(format!("{:.1},{:.1}", x(*day), y(previous)));
        points.push(format!("{:.1},{:.1}", x(*day), y(*total)));
        previous = *total;
    }
    let label = format!("{} merged: {} on {}, {} by {}", last.1, merged[0].1, first.0, last.1, last.0);
    view! {
        <figure class="mt-3" data-testid="merged-over-time">
            <svg viewBox=format!("0 0 {width} {height}") class="h-20 w-full max-w-xl" role="img" aria-label=label.clone()>
                <polyline points=points.join(" ") fill="none" stroke="currentColor" stroke-width="2" class="text-violet-700 dark:text-violet-300" />
            </svg>
            <figcaption class="text-xs text-slate-600 dark:text-slate-300">{label}</figcaption>
        </figure>
    }
    .into_any()
}
