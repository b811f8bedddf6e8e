//! `/repos` and `/deps`: every repository or dependency with its progress, owners, open pull
//! requests and last scan; sortable and filterable through the URL (links and a GET form,
//! so it all works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::burndown::Sparkline;
use crate::components::ui::{
    error_text, href_with_query, target_href, when, Alert, TargetProgress, UnreachedNote, BUTTON, INPUT, LINK,
};
use db::views::TargetSummary;

/// Rows per page of the table.
pub const ROWS_PER_PAGE: usize = 100;

/// One page of the table, filtered and sorted on the server (only that page travels).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TargetTable {
    pub rows: Vec<TargetSummary>,
    /// Matching the filter, over all pages.
    pub matching: usize,
    /// 1-based.
    pub page: usize,
    pub pages: usize,
    /// Repositories: open findings at the end of each of the last weeks, by target id.
    pub trends: Vec<(i64, Vec<i64>)>,
    /// Open findings in modules no tracked code imports, on this side: left out of the counts
    /// unless asked for, and counted here either way.
    pub unreached: i64,
}

/// Weeks a repository's sparkline covers.
pub const TREND_WEEKS: i32 = 26;

#[server(prefix = "/api", endpoint = "targets")]
pub async fn get_targets(
    dependencies: bool,
    filter: Option<String>,
    sort: Option<String>,
    descending: bool,
    page: Option<usize>,
    include_unreached: bool,
) -> Result<TargetTable, ServerFnError> {
    let pool = crate::server::state()?.pool;
    let (mut targets, unreached) =
        crate::server::cached(format!("targets:{dependencies}:{include_unreached}"), async move {
            let targets = db::models::targets::summaries(&pool, dependencies, None, include_unreached).await?;
            let unreached = db::models::progress::open_unreached(&pool, Some(dependencies)).await?;
            Ok::<_, sqlx::Error>((targets, unreached))
        })
        .await?;
    let needle = filter.unwrap_or_default().trim().to_lowercase();
    targets.retain(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle));
    sort_targets(
        &mut targets,
        sort.as_deref().filter(|s| !s.is_empty()).unwrap_or(default_sort(dependencies)),
        descending,
    );
    let matching = targets.len();
    let pages = matching.div_ceil(ROWS_PER_PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let rows = targets.into_iter().skip((page - 1) * ROWS_PER_PAGE).take(ROWS_PER_PAGE).collect();
    let trends = if dependencies {
        Vec::new()
    } else {
        let pool = crate::server::state()?.pool;
        crate::server::cached("trends".to_owned(), async move {
            db::models::progress::weekly_open_of_repositories(&pool, TREND_WEEKS).await
        })
        .await?
    };
    Ok(TargetTable { rows, matching, page, pages, trends, unreached })
}

/// Sorts in place by `key` (`name`, `open`, `progress`, `items`, `scanned`, `blocks`,
/// `reached`, `impact`, `root`).
/// Dependencies by what they are the root cause of (the calls elsewhere whose chain ends at
/// their own thread locals: what migrating them clears), then by the calls of their APIs;
/// repositories by name.
pub fn default_sort(dependencies: bool) -> &'static str {
    if dependencies {
        "root"
    } else {
        "name"
    }
}

pub fn sort_targets(targets: &mut [TargetSummary], key: &str, descending: bool) {
    match key {
        "open" => targets.sort_by_key(|t| t.progress.open),
        // Not scanned and nothing in scope sort before any progress.
        "progress" => targets.sort_by(|a, b| {
            let key = |t: &TargetSummary| (t.last_scan_status.is_some(), t.progress.percent_done().unwrap_or(-1.0));
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        }),
        "items" => targets.sort_by_key(|t| t.epic_items_open),
        "scanned" => targets.sort_by_key(|t| t.last_scan_at),
        "blocks" => targets.sort_by_key(|t| t.blocks_repositories),
        "reached" => targets.sort_by_key(|t| t.open_reached.map(|(reached, _)| reached)),
        // Most impact first: what a maintainer sorting by it looks for.
        "impact" => targets.sort_by_key(|t| (std::cmp::Reverse(t.impact), t.name.to_lowercase())),
        "root" => targets.sort_by_key(|t| (std::cmp::Reverse((t.root_calls, t.impact)), t.name.to_lowercase())),
        _ => targets.sort_by_key(|t| t.name.to_lowercase()),
    }
    if descending {
        targets.reverse();
    }
}

#[component]
pub fn RepositoriesPage() -> impl IntoView {
    view! { <TargetsPage dependencies=false /> }
}

#[component]
pub fn DependenciesPage() -> impl IntoView {
    view! { <TargetsPage dependencies=true /> }
}

#[component]
fn TargetsPage(dependencies: bool) -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        (
            q.get("q"),
            q.get("sort"),
            q.get("dir").as_deref() == Some("desc"),
            q.get("page").and_then(|p| p.parse::<usize>().ok()),
            crate::components::ui::include_unreached(&q),
        )
    };
    let targets = Resource::new(params, move |(q, sort, descending, page, include_unreached)| {
        get_targets(dependencies, q, sort, descending, page, include_unreached)
    });
    let title = if dependencies { "Dependencies" } else { "Repositories" };
    let base = if dependencies { "/deps" } else { "/repos" };
    view! {
        <Title text=title />
        <h1 class="text-2xl font-semibold">{title}</h1>
        <p class="mt-1 text-slate-600 dark:text-slate-300">
            {if dependencies {
                "Pinned PyPI packages of the platform's requirements, scanned from their published files. \
                 \"Reached\" counts open findings in modules a tracked repository's non-test code imports, \
                 directly or through other packages: imported is not called, so it over-approximates."
            } else {
                "The platform and the libraries it is built from."
            }}
        </p>
        <form method="get" action=base class="mt-4 flex items-center gap-2" role="search">
            <label for="target-filter" class="text-sm">"Filter by name"</label>
            <input id="target-filter" name="q" type="search" class=INPUT value=move || query.read().get("q").unwrap_or_default()
                placeholder=if dependencies { "e.g. django-crum" } else { "e.g. edx-django-utils" } />
            <input type="hidden" name="sort" value=move || query.read().get("sort").unwrap_or_default() />
            <input type="hidden" name="unreached" value=move || query.read().get("unreached").unwrap_or_default() />
            <button type="submit" class=BUTTON>"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let q = query.read().get("q").unwrap_or_default().trim().to_owned();
                let sort = query.read().get("sort").filter(|s| !s.is_empty()).unwrap_or_else(|| default_sort(dependencies).into());
                let descending = query.read().get("dir").as_deref() == Some("desc");
                let include_unreached = crate::components::ui::include_unreached(&query.read());
                match targets.await {
                    Ok(table) => view! {
                        <UnreachedNote
                            count=table.unreached
                            included=include_unreached
                            show=href_with_query(base, &[("sort", &sort), ("dir", if descending { "desc" } else { "" }), ("q", &q), ("unreached", "1")])
                            hide=href_with_query(base, &[("sort", &sort), ("dir", if descending { "desc" } else { "" }), ("q", &q)])
                        />
                        <TargetTable table dependencies base sort descending q include_unreached />
                    }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TargetTable(
    table: TargetTable,
    dependencies: bool,
    base: &'static str,
    sort: String,
    descending: bool,
    q: String,
    include_unreached: bool,
) -> impl IntoView {
    let unreached = if include_unreached { "1" } else { "" };
    let TargetTable { rows: targets, matching, page, pages, trends, .. } = table;
    let trends: std::collections::HashMap<i64, Vec<i64>> = trends.into_iter().collect();
    let (sort_key, q_text) = (sort.clone(), q.clone());
    if targets.is_empty() {
        return view! {
            <p class="mt-6 text-slate-600 dark:text-slate-300" data-testid="empty">
                {if q.is_empty() { "Nothing here yet: run unthread scan, or load the demo." } else { "No name matches the filter." }}
            </p>
        }
        .into_any();
    }
    let header = move |key: &'static str, label: &'static str| {
        let active = sort == key;
        let next_desc = active && !descending;
        let href = href_with_query(
            base,
            &[("sort", key), ("dir", if next_desc { "desc" } else { "" }), ("q", &q), ("unreached", unreached)],
        );
        let aria_sort = if active {
            if descending {
                "descending"
            } else {
                "ascending"
            }
        } else {
            "none"
        };
        view! {
            <th scope="col" class="py-2 pr-3 text-left" aria-sort=aria_sort>
                <a class=LINK href=href>{label}{active.then_some(if descending { " ↓" } else { " ↑" })}</a>
            </th>
        }
    };
    view! {
        <div class="mt-4 overflow-x-auto">
            <table class="w-full text-sm" data-testid="target-table">
                <thead>
                    <tr>
                        {header("name", "Name")}
                        {header("open", "Open")}
                        {dependencies.then(|| header("impact", "Impact"))}
                        {dependencies.then(|| header("reached", "Open: reached / not"))}
                        {header("root", "Root of")}
                        <th scope="col" class="py-2 pr-3 text-left" title="Every rule but UT100, outside test code">"Fixed / in scope"</th>
                        {header("progress", "Progress")}
                        {header("items", "Epic items open")}
                        {(!dependencies).then(|| view! { <th scope="col" class="py-2 pr-3 text-left">{format!("Open, {TREND_WEEKS} weeks")}</th> })}
                        <th scope="col" class="py-2 pr-3 text-left">"Owners"</th>
                        <th scope="col" class="py-2 pr-3 text-left">"Open PRs"</th>
                        {header("scanned", "Last scan")}
                        {dependencies.then(|| view! { <th scope="col" class="py-2 pr-3 text-left">"Pinned"</th><th scope="col" class="py-2 pr-3 text-left">"Pulled in by"</th> })}
                        {dependencies.then(|| header("blocks", "Blocks repos"))}
                    </tr>
                </thead>
                <tbody>
                    {targets.into_iter().map(|t| {
                        let scope = if t.last_scan_status.is_none() {
                            "—".to_owned()
                        } else {
                            format!("{} / {}", t.progress.fixed, t.progress.total())
                        };
                        view! {
                            <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-testid="target-row">
                                <td class="py-2 pr-3 font-mono"><a class=LINK href=target_href(&t.name, t.kind)>{t.name.clone()}</a></td>
                                <td class="py-2 pr-3 tabular-nums">{if t.last_scan_status.is_none() { "—".to_owned() } else { t.progress.open.to_string() }}</td>
{dependencies.then(|| view! {
                                    <td class="py-2 pr-3 tabular-nums whitespace-nowrap" data-testid="impact" title="Open UT011 findings elsewhere calling its thread-local APIs, and in how many targets">
                                        {if t.impact.0 == 0 { "—".to_owned() } else { format!("{} in {}", t.impact.0, t.impact.1) }}
                                    </td>
                                    <td class="py-2 pr-3 tabular-nums whitespace-nowrap" data-testid="reached">{match t.open_reached {
                                        Some((reached, unreached)) => format!("{reached} / {unreached}"),
                                        None => "not known".to_owned(),
                                    }}</td>
                                })}
                                <td class="py-2 pr-3 tabular-nums whitespace-nowrap" data-testid="root" title="Open UT011 calls elsewhere whose chain ends at one of its thread locals, through any package's API: migrating them clears those calls">
                                    {match t.root_calls { 0 => "—".to_owned(), 1 => "1 call".to_owned(), n => format!("{n} calls") }}
                                </td>
                                <td class="py-2 pr-3 tabular-nums">{scope}</td>
                                <td class="w-48 py-2 pr-3"><TargetProgress summary=t.clone() /></td>
                                <td class="py-2 pr-3 tabular-nums" data-testid="epic-items">{t.epic_items_open}</td>
                                {(!dependencies).then(|| view! {
                                    <td class="py-2 pr-3">{trends.get(&t.id).cloned().map(|series| view! { <Sparkline series label=t.name.clone() /> })}</td>
                                })}
                                <td class="py-2 pr-3">{t.owners.join(", ")}</td>
                                <td class="py-2 pr-3 tabular-nums">{t.open_pulls}</td>
                                <td class="py-2 pr-3 whitespace-nowrap">
                                    {t.last_scan_at.as_ref().map(when).unwrap_or_else(|| "never".into())}
                                    {t.last_revision.clone().map(|r| view! { <br /><code class="text-xs">{r.chars().take(12).collect::<String>()}</code> })}
                                </td>
                                {dependencies.then(|| view! {
                                    <td class="py-2 pr-3 font-mono text-xs">{if t.pinned.is_empty() {
                                        view! { <span class="font-sans text-amber-800 dark:text-amber-300" title="No requirements file pins it any more: its findings stay as the last scan saw them, not fixed" data-testid="unpinned">"unpinned"</span> }.into_any()
                                    } else {
                                        t.pinned.join(", ").into_any()
                                    }}</td>
                                    <td class="py-2 pr-3 text-xs">{t.pulled_in_by.join(", ")}</td>
                                    <td class="py-2 pr-3 tabular-nums">{t.blocks_repositories}</td>
                                })}
                            </tr>
                        }
                        // Type-erased: the row's static type is too deep for the wasm build.
                        .into_any()
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {(pages > 1).then(|| {
            let link = |to: usize| href_with_query(base, &[("sort", &sort_key), ("dir", if descending { "desc" } else { "" }), ("q", &q_text), ("unreached", unreached), ("page", &to.to_string())]);
            view! {
                <nav aria-label="Pages" class="mt-3 flex items-center gap-4 text-sm" data-testid="table-pages">
                    {(page > 1).then(|| view! { <a class=LINK href=link(page - 1) rel="prev">"← Previous"</a> })}
                    <span>{format!("Page {page} of {pages} ({matching} matching)")}</span>
                    {(page < pages).then(|| view! { <a class=LINK href=link(page + 1) rel="next">"Next →"</a> })}
                </nav>
            }
        })}
    }
    .into_any()
}
