//! `/`: what Unthread tracks, and what changed last.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// Everything the overview shows, read in one server round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub target_count: i64,
    pub targets: Vec<TargetRow>,
    pub recent_events: Vec<EventRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: Option<String>,
    pub kind: String,
    pub target: Option<String>,
}

/// How many recent events the overview lists.
pub const RECENT_EVENTS: i64 = 20;

#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, ServerFnError> {
    use crate::{models, state::AppState};
    let state = use_context::<AppState>().ok_or_else(|| ServerFnError::new("application state missing"))?;
    let targets = models::targets::list(&state.pool).await.map_err(database_error)?;
    let recent_events = models::events::recent(&state.pool, RECENT_EVENTS).await.map_err(database_error)?;
    Ok(Overview { target_count: targets.len() as i64, targets, recent_events })
}

/// Logs the cause for operators and tells the user only that the database failed.
#[cfg(feature = "ssr")]
fn database_error(err: sqlx::Error) -> ServerFnError {
    tracing::error!(error = %err, "overview query failed");
    ServerFnError::new("the database is unavailable, try again shortly")
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_overview());
    view! {
        <Title text="Overview" />
        <h1 class="text-2xl font-semibold">"Migration overview"</h1>
        <Suspense fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OverviewBody overview /> }.into_any(),
                    Err(err) => view! {
                        <p role="alert" class="mt-4 rounded border border-red-300 bg-red-50 p-3 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
                            {err.to_string()}
                        </p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let Overview { target_count, targets, recent_events } = overview;
    view! {
        <p class="mt-2 text-slate-600 dark:text-slate-300">
            "Tracking "
            <strong data-testid="target-count">{target_count}</strong>
            {if target_count == 1 { " target" } else { " targets" }}
            " (repositories and pinned dependencies)."
        </p>
        <div class="mt-8 grid gap-8 md:grid-cols-2">
            <TargetList targets />
            <RecentEvents events=recent_events />
        </div>
    }
}

/// The tracked targets with a filter box. The filter runs in the browser, so it only works
/// once the page has hydrated; without JavaScript the full list stays readable.
#[component]
fn TargetList(targets: Vec<TargetRow>) -> impl IntoView {
    let (filter, set_filter) = signal(String::new());
    let total = targets.len();
    let rows = targets
        .into_iter()
        .map(|target| {
            let needle = target.name.to_lowercase();
            let hidden = move || !needle.contains(&filter.read().trim().to_lowercase());
            view! {
                <li class="flex justify-between py-2" data-testid="target-row" hidden=hidden>
                    <span class="font-mono text-sm">{target.name}</span>
                    <span class="rounded bg-slate-100 px-2 text-xs leading-6 text-slate-700 dark:bg-slate-800 dark:text-slate-200">
                        {target.kind}
                    </span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="targets-heading">
            <h2 id="targets-heading" class="text-lg font-semibold">"Targets"</h2>
            <label class="mt-3 block text-sm" for="target-filter">"Filter by name"</label>
            <input
                id="target-filter"
                type="search"
                placeholder="e.g. edx-django-utils"
                class="mt-1 w-full rounded border border-slate-300 bg-white px-3 py-2 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:border-slate-700 dark:bg-slate-900"
                prop:value=filter
                on:input=move |ev| set_filter.set(event_target_value(&ev))
            />
            {(total == 0).then(|| view! {
                <p class="mt-3 text-slate-600 dark:text-slate-300">
                    "No targets yet: run " <code>"unthread scan"</code> " or load the demo."
                </p>
            })}
            <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="target-list">
                {rows}
            </ul>
        </section>
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
                        let when = event.at.format("%Y-%m-%d %H:%M UTC").to_string();
                        let who = event.actor.unwrap_or_else(|| "unthread".to_owned());
                        view! {
                            <li class="text-sm">
                                <time datetime=event.at.to_rfc3339()>{when}</time>
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
