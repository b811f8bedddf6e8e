//! `/`: how far the migration is, by rule and by side, over time, and what changed last.

mod status;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::{
    burndown::Burndown,
    ui::{error_text, Alert, ProgressBar, UnreachedNote, LINK},
};
use db::progress::thousands;
use db::views::{Activity, BurndownPoint, Contributor, Progress, RuleCount};
use db::views::{Epic, EpicItem, FiledVsFound};

/// Everything the overview shows, read in one server round trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub target_count: i64,
    pub overall: Progress,
    pub by_side: Vec<(String, Progress)>,
    pub by_rule: Vec<RuleCount>,
    pub burndown: Vec<BurndownPoint>,
    /// Recent activity in words, newest first.
    pub activity: Vec<Activity>,
    pub contributors: Vec<Contributor>,
    /// The epic being tracked and its items, once a sync has stored it.
    pub epic: Option<(Epic, Vec<EpicItem>)>,
    pub filed: FiledVsFound,
    pub target: Option<db::views::CampaignTarget>,
    pub projection: db::projection::Projection,
    /// The last seven days against the seven before.
    pub weeks: status::Weeks,
    /// Open findings in modules no tracked code imports: left out of every count above unless
    /// asked for, and counted here either way.
    pub unreached: i64,
}

/// How many recent events the overview lists.
pub const RECENT_EVENTS: i64 = 15;
/// Days the burndown covers at most: a campaign's whole history, up to a year.
pub const BURNDOWN_DAYS: i32 = 366;

/// `include_unreached`: count findings in modules no tracked code imports too (`/?unreached=1`);
/// by default they are left out of every figure, and counted apart.
#[server(prefix = "/api", endpoint = "overview")]
pub async fn get_overview(include_unreached: Option<bool>) -> Result<Overview, ServerFnError> {
    let include_unreached = include_unreached.unwrap_or(false);
    let pool = crate::server::state()?.pool;
    crate::server::cached(format!("overview:{include_unreached}"), read_overview(pool, include_unreached)).await
}

#[cfg(feature = "ssr")]
async fn read_overview(pool: sqlx::PgPool, include_unreached: bool) -> sqlx::Result<Overview> {
    use db::models::progress;
    let targets = progress::by_target_in(&pool, include_unreached).await?;
    let by_rule = progress::by_rule_in(&pool, None, include_unreached)
        .await?
        .into_iter()
        .map(progress::RuleProgress::into_rule_count)
        .collect();
    let burndown = progress::burndown_in(&pool, BURNDOWN_DAYS, include_unreached).await?;
    let target = db::models::campaign::target(&pool).await?;
    let today = chrono::Utc::now().date_naive();
    let projection = db::projection::project(
        today,
        burndown.last().map_or(0, |p| p.open),
        &db::projection::weekly_done(&burndown, today),
        target.as_ref().map(|t| t.date),
    );
    Ok(Overview {
        target_count: targets.len() as i64,
        overall: progress::overall(&targets),
        by_side: progress::by_side(&targets),
        by_rule,
        burndown,
        activity: db::models::activity::recent(&pool, RECENT_EVENTS).await?,
        contributors: progress::top_contributors(&pool, 10).await?,
        epic: match db::models::epic::main_epic(&pool).await? {
            Some(epic) => {
                let items = db::models::epic::items(&pool, &epic).await?;
                Some((epic, items))
            }
            None => None,
        },
        filed: db::models::epic::filed_vs_found(&pool, None, include_unreached).await?,
        target,
        projection,
        weeks: {
            let now = chrono::Utc::now();
            let week = chrono::Duration::days(7);
            status::Weeks {
                now,
                this: progress::changes_between_in(&pool, now - week, now, include_unreached).await?,
                before: progress::changes_between_in(&pool, now - week - week, now - week, include_unreached).await?,
            }
        },
        unreached: progress::open_unreached(&pool, None).await?,
    })
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let include_unreached = Memo::new(move |_| crate::components::ui::include_unreached(&query.read()));
    let overview = Resource::new(move || include_unreached.get(), |include| get_overview(Some(include)));
    view! {
        <Title text="Overview" />
        <h1 class="text-2xl font-semibold">"Migration overview"</h1>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <OverviewBody overview included=include_unreached.get_untracked() /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewBody(overview: Overview, included: bool) -> impl IntoView {
    let Overview {
        target_count,
        overall,
        by_side,
        by_rule,
        burndown,
        activity,
        contributors,
        epic,
        filed,
        target,
        projection,
        weeks,
        unreached,
    } = overview;
    let triaged_away = overall.triaged_away;
    let items = epic.as_ref().map(|(_, items)| items.clone()).unwrap_or_default();
    view! {
        <status::StatusStrip items=items.clone() burndown=burndown.clone() projection=projection.clone() now=weeks.now />
        <p class="mt-2 text-slate-600 dark:text-slate-300">
            "Tracking "
            <strong data-testid="target-count">{target_count}</strong>
            {if target_count == 1 { " target" } else { " targets" }}
            " (repositories and pinned dependencies). Progress is measured by rescanning code."
        </p>
        <UnreachedNote count=unreached included show="/?unreached=1".to_owned() hide="/".to_owned() />
        <section aria-labelledby="overall-heading" class="mt-6" data-testid="overall">
            <h2 id="overall-heading" class="text-lg font-semibold">"Overall"</h2>
            <p class="text-xl" data-testid="headline">
                <strong class="tabular-nums">{thousands(overall.fixed)}</strong>" fixed of "
                <strong class="tabular-nums">{thousands(overall.total())}</strong>
                {format!(" ({} %)", db::progress::percent_text(overall.fixed, overall.total()))}
                <span class="text-base text-slate-600 dark:text-slate-300">
                    {format!(" · {} triaged away · ", thousands(triaged_away))}
                    <span data-testid="overall-open">{thousands(overall.open)}</span>" open"
                </span>
            </p>
            <ProgressBar progress=overall.clone() label="Overall".to_owned() />
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300" data-testid="scope-note">
                "In scope: every rule but UT100, outside test code"
                {(!included).then_some(", in modules tracked code imports (or where that is not known); a shared-object write (UT013) when a request or a task is known to make it")}
                ". Not counted: "
                <a class=LINK href="/findings?state=migrated">
                    {format!("{} {} already on context variables", thousands(overall.migrated), if overall.migrated == 1 { "place" } else { "places" })}
                </a>
                " (information, not progress) and "
                <a class=LINK href="/findings?tests=only">{format!("{} open in test code", thousands(overall.tests_open))}</a>"."
            </p>
        </section>
        <status::ThisWeek weeks items />
        <section aria-labelledby="burndown-heading" class="mt-6">
            <h2 id="burndown-heading" class="text-lg font-semibold">"Findings over time"</h2>
            <Pace projection=projection.clone() target />
            <Burndown series=burndown projection />
        </section>
        {epic.map(|(epic, items)| view! { <EpicSection epic items /> })}
        <FiledSection filed />
        <div class="mt-8 grid gap-8 md:grid-cols-2">
            <section aria-labelledby="sides-heading">
                <h2 id="sides-heading" class="text-lg font-semibold">"By kind"</h2>
                <ul class="mt-2 space-y-3">
                    {by_side.into_iter().map(|(side, progress)| {
                        let href = match (side == "dependencies", included) {
                            (true, false) => "/deps",
                            (true, true) => "/deps?unreached=1",
                            (false, false) => "/repos",
                            (false, true) => "/repos?unreached=1",
                        };
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
                    <thead><tr class="text-left"><th scope="col" class="pr-3">"Rule"</th><th scope="col" class="pr-3 text-right">"Open"</th><th scope="col" class="w-1/2 pl-2">"Progress"</th></tr></thead>
                    <tbody>
                        {by_rule.into_iter().map(|r| view! {
                            <tr class="border-t border-slate-200 dark:border-slate-800">
                                <td class="py-1"><a class=LINK href=format!("/rules/{}", r.rule)>{r.rule.clone()}</a>" "<span class="text-slate-500">{r.name.clone()}</span></td>
                                <td class="pr-3 text-right tabular-nums"><a class=LINK href=format!("/findings?rule={}", r.rule)>{r.progress.open}</a></td>
                                <td class="pl-2"><ProgressBar progress=r.progress label=r.rule /></td>
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
                            {c.name.clone().map(|n| view! { <span class="text-slate-500">{format!(" ({n})")}</span> })}
                            {c.github_only.then(|| view! { <span class="text-xs text-slate-500">" GitHub"</span> })}
                            {format!(" · {} fixed · {} open owned", c.fixed, c.owned_open)}</li>
                    }).collect_view()}
                </ol>
            </section>
            <RecentActivity activity />
        </div>
    }
}

/// The latest events in words, grouped by day (UTC).
#[component]
fn RecentActivity(activity: Vec<Activity>) -> impl IntoView {
    let empty = activity.is_empty();
    let mut days: Vec<(chrono::NaiveDate, Vec<Activity>)> = Vec::new();
    for item in activity {
        let day = item.at.date_naive();
        match days.last_mut() {
            Some((d, items)) if *d == day => items.push(item),
            _ => days.push((day, vec![item])),
        }
    }
    view! {
        <section aria-labelledby="events-heading">
            <h2 id="events-heading" class="text-lg font-semibold">"Recent activity"</h2>
            {empty.then(|| view! { <p class="mt-3 text-slate-600 dark:text-slate-300">"Nothing has happened yet."</p> })}
            <div class="mt-3 space-y-3" data-testid="event-list">
                {days.into_iter().map(|(day, items)| view! {
                    <div>
                        <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">{day.format("%A %Y-%m-%d").to_string()}</h3>
                        <ul class="mt-1 space-y-1">
                            {items.into_iter().map(|item| view! {
                                <li class="text-sm break-words" data-testid="activity">
                                    <time class="mr-2 tabular-nums text-slate-500" datetime=item.at.to_rfc3339()>{item.at.format("%H:%M").to_string()}</time>
                                    {item.sentence}
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                }).collect_view()}
            </div>
        </section>
    }
}

/// Will the campaign make its target at the recent pace? Says the method and the range.
#[component]
fn Pace(projection: db::projection::Projection, target: Option<db::views::CampaignTarget>) -> impl IntoView {
    use db::projection::Status;
    let weeks = projection.weekly_done.len();
    let pace = format!(
        "{:.1} a week over the last {weeks} complete week{} ({})",
        projection.mean_per_week,
        if weeks == 1 { "" } else { "s" },
        projection.weekly_done.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    let date = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "never".to_owned(), |d| d.to_string());
    let finish = match projection.status {
        Status::Done => "Nothing is open.".to_owned(),
        Status::Stalled => "No completion date can be projected from no progress.".to_owned(),
        _ => format!(
            "At that pace the {} open findings are done by {} (best week's pace {}, worst {}).",
            projection.open,
            date(projection.expected),
            date(projection.best),
            date(projection.worst)
        ),
    };
    let verdict_class = match projection.status {
        Status::OnTrack | Status::Done => "text-emerald-700 dark:text-emerald-400",
        Status::Behind { .. } | Status::Stalled => "text-rose-700 dark:text-rose-400",
        Status::NoTarget => "text-slate-600 dark:text-slate-300",
    };
    let target_text = match &target {
        Some(t) => format!("Target {}{}: ", t.date, t.label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default()),
        None => "No target date (a maintainer sets one on /admin): ".to_owned(),
    };
    view! {
        <p class="mt-1 text-sm" data-testid="pace">
            <span>{target_text}</span>
            <strong class=verdict_class data-testid="verdict">{projection.verdict()}</strong>
            ". " {finish} " Pace: work done (fixed or triaged away) " {pace} "; new findings are not forecast."
        </p>
    }
}

/// A GitHub item's state as a badge.
fn state_badge(state: &str) -> impl IntoView {
    let class = match state {
        "merged" => "bg-violet-100 text-violet-800 dark:bg-violet-950 dark:text-violet-200",
        "closed" => "bg-slate-200 text-slate-800 dark:bg-slate-800 dark:text-slate-200",
        _ => "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200",
    };
    view! { <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {class}")>{state.to_owned()}</span> }
}

/// The epic and each item filed for it, with its state and the findings it names.
#[component]
fn EpicSection(epic: Epic, mut items: Vec<EpicItem>) -> impl IntoView {
    status::by_staleness(&mut items);
    let issues = items.iter().filter(|i| !i.is_pull).count();
    let closed = items.iter().filter(|i| !i.is_pull && i.state == "closed").count();
    view! {
        <section aria-labelledby="epic-heading" class="mt-6" data-testid="epic">
            <h2 id="epic-heading" class="text-lg font-semibold">
                "Epic: "<a class=LINK href=epic.html_url.clone()>{format!("{}#{}", epic.repository, epic.number)}</a>
            </h2>
            <p class="text-sm text-slate-700 dark:text-slate-300">{epic.title.clone()}" " {state_badge(&epic.state)}</p>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300" data-testid="epic-summary">
                {format!("{issues} sub-issues, {closed} closed; opened {}. Open items first, the longest without activity on top.", epic.created_at.format("%Y-%m-%d"))}
            </p>
            <div class="mt-2 overflow-x-auto">
                <table class="w-full text-sm" data-testid="epic-items">
                    <thead><tr class="text-left">
                        <th scope="col" class="pr-3">"Item"</th>
                        <th scope="col" class="pr-3">"State"</th>
                        <th scope="col" class="pr-3">"Assignee"</th>
                        <th scope="col" class="pr-3">"Last activity"</th>
                        <th scope="col" class="pr-3">"Pull requests"</th>
                        <th scope="col" class="pr-3 text-right">"Names"</th>
                    </tr></thead>
                    <tbody>
                        {items.into_iter().map(|item| {
                            let names = item_names(&item);
                            let done = item.done_at.map(|at| format!(" {}", at.format("%Y-%m-%d"))).unwrap_or_default();
                            view! {
                                <tr class="border-t border-slate-200 align-top dark:border-slate-800">
                                    <td class="py-1 pr-3">
                                        <a class=LINK href=item.html_url.clone()>{format!("{}{}#{}", if item.is_pull { "PR " } else { "" }, item.repository, item.number)}</a>
                                        <span class="block text-slate-600 dark:text-slate-400">{item.title.clone()}</span>
                                    </td>
                                    <td class="whitespace-nowrap py-1 pr-3">{state_badge(&item.state)}<span class="text-xs text-slate-500">{done}</span></td>
                                    <td class="py-1 pr-3" data-testid="item-assignee">{if item.assignees.is_empty() { "nobody".to_owned() } else { item.assignees.join(", ") }}</td>
                                    <td class="whitespace-nowrap py-1 pr-3 tabular-nums" data-testid="item-activity">{item.updated_at.format("%Y-%m-%d").to_string()}</td>
                                    <td class="py-1 pr-3" data-testid="item-pulls">{if item.is_pull { "—".to_owned() } else if item.pulls.is_empty() { "none".to_owned() } else { item.pulls.join(", ") }}</td>
                                    <td class="py-1 text-right tabular-nums" data-testid="item-names">{names}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// What an epic item names, truthfully: the findings it names; a pull request's changed
/// files (evidence, not a claim); the dependency it is about; or why nothing is shown.
fn item_names(item: &EpicItem) -> String {
    let mut parts = Vec::new();
    if item.open + item.fixed > 0 {
        parts.push(format!("names {} open · {} fixed", item.open, item.fixed));
    }
    if item.touched_open + item.touched_fixed > 0 {
        let kept = if item.state == "merged" { "kept" } else { "open" };
        parts.push(format!("changed the files of {} fixed · {} {kept}", item.touched_fixed, item.touched_open));
    }
    if !item.about.is_empty() {
        parts.push(format!("about {}", item.about.join(", ")));
    }
    if !parts.is_empty() {
        return parts.join("; ");
    }
    if !item.names_place {
        "names no code place (tooling or process)".to_owned()
    } else if let (true, Some(files)) = (item.repository_scanned, item.scanned_files_only) {
        format!(
            "no finding in the place it names among the {files} {} of {} scanned here (not the whole repository)",
            if files == 1 { "file" } else { "files" },
            item.repository
        )
    } else if item.repository_scanned {
        "no scanned finding in the place it names".to_owned()
    } else {
        format!("{} is not scanned here", item.repository)
    }
}

/// What the epic's items name against everything the scans found.
#[component]
fn FiledSection(filed: FiledVsFound) -> impl IntoView {
    let FiledVsFound { total, by_target, by_rule } = filed;
    let total = total.unwrap_or(db::views::FiledFound { name: String::new(), found: 0, filed: 0, open_unfiled: 0 });
    let rows = |rows: Vec<db::views::FiledFound>, href: fn(&str) -> String| {
        rows.into_iter()
            .map(|r| {
                let unfiled = href(&r.name);
                view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800">
                        <td class="py-1 pr-3 break-all">{r.name.clone()}</td>
                        <td class="pr-3 text-right tabular-nums">{r.found}</td>
                        <td class="pr-3 text-right tabular-nums">{r.filed}</td>
                        <td class="text-right tabular-nums"><a class=LINK href=unfiled>{r.open_unfiled}</a></td>
                    </tr>
                }
            })
            .collect_view()
    };
    let head = |first: &'static str| {
        view! {
            <thead><tr class="text-left">
                <th scope="col" class="pr-3">{first}</th>
                <th scope="col" class="pr-3 text-right">"Found"</th>
                <th scope="col" class="pr-3 text-right">"Filed"</th>
                <th scope="col" class="text-right">"Open, not filed"</th>
            </tr></thead>
        }
    };
    let shown: Vec<_> = by_target.into_iter().take(12).collect();
    view! {
        <section aria-labelledby="filed-heading" class="mt-6" data-testid="filed-vs-found">
            <h2 id="filed-heading" class="text-lg font-semibold">"Filed vs found"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300" data-testid="filed-summary">
                "GitHub items name "<strong>{total.filed}</strong>" of the "<strong>{total.found}</strong>
                " findings the scans found; "
                <a class=LINK href="/findings?filed=no">{format!("{} open findings are not filed yet", total.open_unfiled)}</a>
                ". Found: every finding in scope (every rule but UT100, outside test code; triaged away included), the overall total above."
            </p>
            <div class="mt-2 grid gap-6 md:grid-cols-2">
                <div class="overflow-x-auto">
                    <table class="w-full text-sm" data-testid="filed-by-target">
                        {head("Repository or package")}
                        <tbody>{rows(shown, |t| format!("/findings?filed=no&target={}", form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()))}</tbody>
                    </table>
                </div>
                <div class="overflow-x-auto">
                    <table class="w-full text-sm" data-testid="filed-by-rule">
                        {head("Rule")}
                        <tbody>{rows(by_rule, |r| format!("/findings?filed=no&rule={r}"))}</tbody>
                    </table>
                </div>
            </div>
        </section>
    }
}
