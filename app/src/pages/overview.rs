//! `/`: how far the migration is, by rule and by side, over time, and what changed last.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::{
    burndown::Burndown,
    ui::{error_text, when, Alert, ProgressBar, LINK},
};
use db::views::{BurndownPoint, Contributor, EventRow, Progress, RuleCount};

/// Everything the overview shows, read in one server round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub target_count: i64,
    pub overall: Progress,
    pub by_side: Vec<(String, Progress)>,
    pub by_rule: Vec<RuleCount>,
    pub burndown: Vec<BurndownPoint>,
    pub recent_events: Vec<EventRow>,
    pub contributors: Vec<Contributor>,
}

/// How many recent events the overview lists.
pub const RECENT_EVENTS: i64 = 15;
/// Days the burndown covers.
pub const BURNDOWN_DAYS: i32 = 42;

/// `reached_only`: count only findings in modules tracked code imports (`/?reached=1`);
/// absent is all of them.
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview(reached_only: Option<bool>) -> Result<Overview, ServerFnError> {
    let reached_only = reached_only.unwrap_or(false);
    let pool = crate::server::state()?.pool;
    crate::server::cached(format!("overview:{reached_only}"), read_overview(pool, reached_only)).await
}

#[cfg(feature = "ssr")]
async fn read_overview(pool: sqlx::PgPool, reached_only: bool) -> sqlx::Result<Overview> {
    use db::models::progress;
    let targets = progress::by_target_in(&pool, reached_only).await?;
    let by_rule = progress::by_rule_in(&pool, None, reached_only)
        .await?
        .into_iter()
        .map(progress::RuleProgress::into_rule_count)
        .collect();
    Ok(Overview {
        target_count: targets.len() as i64,
        overall: progress::overall(&targets),
        by_side: progress::by_side(&targets),
        by_rule,
        burndown: progress::burndown(&pool, BURNDOWN_DAYS).await?,
        recent_events: db::models::events::recent(&pool, RECENT_EVENTS).await?,
        contributors: progress::top_contributors(&pool, 10).await?,
    })
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let reached_only = Memo::new(move |_| matches!(query.read().get("reached").as_deref(), Some("1" | "yes" | "on")));
    let overview = Resource::new(move || reached_only.get(), |reached| get_overview(Some(reached)));
    view! {
        <Title text="Overview" />
        <h1 class="text-2xl font-semibold">"Migration overview"</h1>
        {move || {
            let reached = reached_only.get();
            let current = |on: bool| if on { "page" } else { "false" };
            view! {
                <nav aria-label="Scope" class="mt-2 flex flex-wrap items-baseline gap-3 text-sm" data-testid="scope">
                    <a class=LINK href="/" aria-current=current(!reached)>{if reached { "All findings" } else { "All findings ✓" }}</a>
                    <a class=LINK href="/?reached=1" aria-current=current(reached) data-testid="reached-only">{if reached { "Reached only ✓" } else { "Reached only" }}</a>
                    <span class="text-xs text-slate-500">"Reached only: in modules a tracked repository's non-test code imports (imported is not called)."</span>
                </nav>
            }
        }}
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OverviewBody overview /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let Overview { target_count, overall, by_side, by_rule, burndown, recent_events, contributors } = overview;
    let triaged_away = overall.triaged_away;
    view! {
        <p class="mt-2 text-slate-600 dark:text-slate-300">
            "Tracking "
            <strong data-testid="target-count">{target_count}</strong>
            {if target_count == 1 { " target" } else { " targets" }}
            " (repositories and pinned dependencies). Progress is measured by rescanning code."
        </p>
        <section aria-labelledby="overall-heading" class="mt-6" data-testid="overall">
            <h2 id="overall-heading" class="text-lg font-semibold">"Overall"</h2>
            <ProgressBar progress=overall.clone() label="Overall".to_owned() />
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                <strong>{overall.open}</strong>" open · "<strong>{overall.fixed}</strong>" fixed · "
                <strong>{overall.migrated}</strong>" already on context variables · "
                <strong>{triaged_away}</strong>" triaged away (not counted)"
            </p>
        </section>
        <div class="mt-8 grid gap-8 md:grid-cols-2">
            <section aria-labelledby="burndown-heading">
                <h2 id="burndown-heading" class="text-lg font-semibold">"Open findings over time"</h2>
                <Burndown series=burndown />
            </section>
            <section aria-labelledby="sides-heading">
                <h2 id="sides-heading" class="text-lg font-semibold">"By kind"</h2>
                <ul class="mt-2 space-y-3">
                    {by_side.into_iter().map(|(side, progress)| {
                        let href = if side == "dependencies" { "/deps" } else { "/repos" };
                        view! {
                            <li>
                                <a class=LINK href=href>{side.clone()}</a>
                                <ProgressBar progress label=side />
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            <section aria-labelledby="rules-heading">
                <h2 id="rules-heading" class="text-lg font-semibold">"By rule"</h2>
                <table class="mt-2 w-full text-sm" data-testid="by-rule">
                    <thead><tr class="text-left"><th scope="col">"Rule"</th><th scope="col">"Open"</th><th scope="col" class="w-1/2">"Progress"</th></tr></thead>
                    <tbody>
                        {by_rule.into_iter().map(|r| view! {
                            <tr class="border-t border-slate-200 dark:border-slate-800">
                                <td class="py-1"><a class=LINK href=format!("/rules/{}", r.rule)>{r.rule.clone()}</a>" "<span class="text-slate-500">{r.name.clone()}</span></td>
                                <td class="tabular-nums"><a class=LINK href=format!("/findings?rule={}", r.rule)>{r.progress.open}</a></td>
                                <td><ProgressBar progress=r.progress label=r.rule /></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section aria-labelledby="people-heading">
                <h2 id="people-heading" class="text-lg font-semibold">"Top contributors"</h2>
                {contributors.is_empty().then(|| view! {
                    <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">"Nobody has claimed anything yet: "<a class=LINK href="/contribute">"pick an item"</a>"."</p>
                })}
                <ol class="mt-2 space-y-1 text-sm" data-testid="contributors">
                    {contributors.into_iter().map(|c| view! {
                        <li><a class=LINK href=format!("/people/{}", c.login)>{c.login.clone()}</a>
                            {format!(" · {} fixed · {} open owned", c.fixed, c.owned_open)}</li>
                    }).collect_view()}
                </ol>
            </section>
            <RecentEvents events=recent_events />
        </div>
    }
}

#[component]
fn RecentEvents(events: Vec<EventRow>) -> impl IntoView {
    let empty = events.is_empty();
    view! {
        <section aria-labelledby="events-heading">
            <h2 id="events-heading" class="text-lg font-semibold">"Recent activity"</h2>
            {empty.then(|| view! { <p class="mt-3 text-slate-600 dark:text-slate-300">"Nothing has happened yet."</p> })}
            <ol class="mt-3 space-y-2" data-testid="event-list">
                {events
                    .into_iter()
                    .map(|event| {
                        let who = event.actor.unwrap_or_else(|| "unthread".to_owned());
                        view! {
                            <li class="text-sm">
                                <time datetime=event.at.to_rfc3339()>{when(&event.at)}</time>
                                " · " <span class="font-medium">{who}</span>
                                " · " <code>{event.kind}</code>
                                {event.target.map(|t| view! { " · " <span class="font-mono">{t}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}
