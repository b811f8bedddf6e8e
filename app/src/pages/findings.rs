//! `/findings`: the explorer. Every filter lives in the URL query (a GET form, so links can
//! be shared and it works without JavaScript); pages continue after the last id shown
//! (keyset pagination, never OFFSET); facet counts show what each filter would leave.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    finding_table::FindingTable,
    ui::{error_text, href_with_query, Alert, BUTTON, INPUT, LINK},
};
use db::views::{FacetCount, FindingFilter, FindingPage};

#[server(prefix = "/api", endpoint = "findings")]
pub async fn get_findings(filter: FindingFilter, after: Option<i64>) -> Result<FindingPage, ServerFnError> {
    let pool = crate::server::state()?.pool;
    // `all`, or one of the states findings can be in.
    if let Some(state) = filter.state.as_deref().filter(|state| *state != "all") {
        state.parse::<db::kinds::FindingState>().map_err(crate::error::AppError::bad_request)?;
    }
    if let Some(tests) = filter.tests.as_deref().filter(|t| !matches!(*t, "yes" | "only" | "no")) {
        return Err(crate::error::AppError::bad_request(format!(
            "unknown tests filter {tests:?}: use yes (include test code), only or no (the default)"
        ))
        .into());
    }
    if let Some(text) = filter.text.as_deref().filter(|t| t.chars().count() > db::views::MAX_SEARCH_CHARS) {
        return Err(crate::error::AppError::bad_request(format!(
            "the search text is {} characters: search with at most {}",
            text.chars().count(),
            db::views::MAX_SEARCH_CHARS
        ))
        .into());
    }
    let key = format!("findings:{}", filter_href(&filter, after));
    let cache = crate::server::state()?.cache;
    crate::server::cached(key, async move {
        // A text is matched in memory once the findings' texts are read there (see
        // `db::models::finding_texts`): a text most findings hold costs a millisecond instead
        // of a pass of the database over every finding. Asked here, after the answer's key
        // took the cache's generation: texts never older than the key.
        let texts = match &filter.text {
            Some(_) => cache.finding_texts(&pool).await,
            None => None,
        };
        db::models::findings::explore_with_texts(&pool, &filter, after, texts.as_deref()).await
    })
    .await
}

/// The "runs at" values, in the order the page lists them.
const RUNS_AT: [&str; 6] = ["request", "worker", "start-up", "tests", "unknown", "none"];

/// A "runs at" facet value as the page says it.
fn runs_at_label(value: &str) -> String {
    match value {
        "request" => "request time",
        "worker" => "worker (Celery)",
        "start-up" => "start-up or first use only",
        "tests" => "tests only",
        "unknown" => "unknown (no entry point found)",
        "none" => "not analysed",
        other => other,
    }
    .to_owned()
}

/// The filter a URL query describes; blank values are no filter.
pub fn filter_from_query(query: &leptos_router::params::ParamsMap) -> FindingFilter {
    let text = |key: &str| query.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    FindingFilter {
        target: text("target"),
        kind: text("kind"),
        rule: text("rule"),
        triage: text("triage"),
        owner: text("owner"),
        unowned: matches!(query.get("unowned").as_deref(), Some("1" | "on" | "true")),
        state: text("state"),
        text: text("q"),
        // By default findings in modules nothing tracked imports are left out (the page says
        // how many); `reached=all` shows them.
        reached: match text("reached").as_deref() {
            None => Some(db::views::REACHED_OR_UNKNOWN.to_owned()),
            Some("all") => None,
            Some(value) => Some(value.to_owned()),
        },
        filed: text("filed"),
        team: text("team"),
        tests: text("tests"),
        runs_at: text("runs_at"),
    }
}

/// The `reached` query value of `filter` ([`filter_from_query`]'s inverse): absent for the
/// default (all but the unreached), `all` for no reachability filter.
fn reached_param(filter: &FindingFilter) -> &str {
    match filter.reached.as_deref() {
        Some(db::views::REACHED_OR_UNKNOWN) => "",
        None => "all",
        Some(value) => value,
    }
}

/// The URL of `filter` (with `after` for a later page).
pub fn filter_href(filter: &FindingFilter, after: Option<i64>) -> String {
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    href_with_query(
        "/findings",
        &[
            ("target", filter.target.as_deref().unwrap_or("")),
            ("kind", filter.kind.as_deref().unwrap_or("")),
            ("rule", filter.rule.as_deref().unwrap_or("")),
            ("triage", filter.triage.as_deref().unwrap_or("")),
            ("owner", filter.owner.as_deref().unwrap_or("")),
            ("unowned", if filter.unowned { "1" } else { "" }),
            ("state", filter.state.as_deref().unwrap_or("")),
            ("q", filter.text.as_deref().unwrap_or("")),
            ("reached", reached_param(filter)),
            ("filed", filter.filed.as_deref().unwrap_or("")),
            ("team", filter.team.as_deref().unwrap_or("")),
            ("runs_at", filter.runs_at.as_deref().unwrap_or("")),
            ("tests", filter.tests.as_deref().unwrap_or("")),
            ("after", &after),
        ],
    )
}

#[component]
pub fn FindingsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from_query(&query.read()));
    let after = Memo::new(move |_| query.read().get("after").and_then(|a| a.parse::<i64>().ok()));
    let page = Resource::new(move || (filter.get(), after.get()), |(filter, after)| get_findings(filter, after));
    view! {
        <Title text="Findings" />
        <h1 class="text-2xl font-semibold">"Findings"</h1>
        {move || view! { <FilterForm filter=filter.get() /> }}
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Results page filter=filter.get_untracked() after=after.get_untracked() /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn FilterForm(filter: FindingFilter) -> impl IntoView {
    let rules: Vec<(String, String)> =
        crate::pages::rules::RULE_IDS.iter().map(|id| (id.to_string(), id.to_string())).collect();
    let select =
        move |name: &'static str, label: &'static str, options: Vec<(String, String)>, current: Option<String>| {
            let current = current.unwrap_or_default();
            view! {
                <label class="flex flex-col text-sm">
                    {label}
                    <select name=name class=INPUT>
                        <option value="">"any"</option>
                        {options.into_iter().map(|(value, text)| {
                            let selected = value == current;
                            view! { <option value=value selected=selected>{text}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }
        };
    let pairs = |items: &[(&str, &str)]| items.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect::<Vec<_>>();
    view! {
        <form method="get" action="/findings" class="mt-4 flex flex-wrap items-end gap-3" role="search" data-testid="finding-filters">
            <label class="flex flex-col text-sm">"Text"
                <input type="search" name="q" class=INPUT value=filter.text.clone().unwrap_or_default() placeholder="path, symbol or code" />
            </label>
            <label class="flex flex-col text-sm">"Target"
                <input name="target" class=INPUT value=filter.target.clone().unwrap_or_default() placeholder="owner/name or package" />
            </label>
            {select("kind", "Kind", pairs(&[("repository", "repositories"), ("dependency", "dependencies")]), filter.kind.clone())}
            {select("rule", "Rule", rules, filter.rule.clone())}
            {select("state", "State", pairs(&[("open", "open (default)"), ("fixed", "fixed"), ("triaged_away", "triaged away"), ("all", "all in scope"), ("migrated", "already on context variables (UT100)")]), filter.state.clone())}
            {select("triage", "Triage", pairs(&[("open", "open"), ("confirmed", "confirmed"), ("false_positive", "false positive"), ("wont_fix", "won't fix")]), filter.triage.clone())}
            <label class="flex flex-col text-sm">
                "Reached"
                <select name="reached" class=INPUT>
                    {[
                        ("", "reached or not known (default)"),
                        ("all", "any, with what is not known to be reached"),
                        ("yes", "imported by tracked code"),
                        ("no", "not reached"),
                        ("unknown", "not known yet"),
                    ].into_iter().map(|(value, text)| {
                        let current = reached_param(&filter);
                        view! { <option value=value selected=value == current>{text}</option> }
                    }).collect_view()}
                </select>
            </label>
            {select("runs_at", "Runs at", RUNS_AT.iter().map(|v| ((*v).to_owned(), runs_at_label(v))).collect(), filter.runs_at.clone())}
            {select("tests", "Test code", pairs(&[("yes", "included"), ("only", "only test code")]), filter.tests.clone())}
            {select("filed", "Filed", pairs(&[("yes", "named by a GitHub item"), ("no", "not filed yet")]), filter.filed.clone())}
            <label class="flex flex-col text-sm">"Team"
                <input name="team" class=format!("{INPUT} w-36") value=filter.team.clone().unwrap_or_default() placeholder="owner team" />
            </label>
            <label class="flex flex-col text-sm">"Owner"
                <input name="owner" class=format!("{INPUT} w-28") value=filter.owner.clone().unwrap_or_default() placeholder="login" />
            </label>
            <label class="flex items-center gap-1 text-sm">
                <input type="checkbox" name="unowned" value="1" checked=filter.unowned />
                "Unowned only"
            </label>
            <button type="submit" class=BUTTON>"Apply"</button>
            <a class=LINK href="/findings">"Clear"</a>
        </form>
        <p class="mt-2 max-w-4xl text-xs text-slate-600 dark:text-slate-300" data-testid="state-help">
            "State: " <strong>"open"</strong> " — still to do; " <strong>"fixed"</strong> " — a later complete scan no longer sees it; "
            <strong>"triaged away"</strong> " — a maintainer marked it a false positive or won't fix; " <strong>"all in scope"</strong>
            " — the three together, the total every page counts (every rule but UT100, outside test code); "
            <strong>"already on context variables"</strong> " — UT100 places, information, never progress."
        </p>
    }
}

#[component]
fn Results(page: FindingPage, filter: FindingFilter, after: Option<i64>) -> impl IntoView {
    let FindingPage { rows, next_after, total, by_rule, by_kind, by_owner, by_reached, by_code, mut by_runs_at } = page;
    by_runs_at.sort_by_key(|c| RUNS_AT.iter().position(|v| *v == c.value).unwrap_or(RUNS_AT.len()));
    let tests_hidden = match filter.tests.as_deref() {
        Some("yes" | "only") => None,
        _ => by_code.iter().find(|c| c.value == "tests").map(|c| c.count).filter(|n| *n > 0),
    };
    let with_tests = {
        let mut next = filter.clone();
        next.tests = Some("yes".to_owned());
        filter_href(&next, None)
    };
    // Left out by default: findings tracked code is not known to reach.
    let unreached_hidden = (filter.reached.as_deref() == Some(db::views::REACHED_OR_UNKNOWN))
        .then(|| by_reached.iter().find(|c| c.value == "no").map(|c| c.count))
        .flatten()
        .filter(|n| *n > 0);
    let with_unreached = {
        let mut next = filter.clone();
        next.reached = None;
        filter_href(&next, None)
    };
    let facet = {
        let filter = filter.clone();
        move |title: &'static str,
              counts: Vec<FacetCount>,
              apply: fn(&mut FindingFilter, &str),
              label: fn(&str) -> String| {
            let filter = filter.clone();
            view! {
                <div>
                    <h3 class="text-sm font-semibold">{title}</h3>
                    <ul class="text-sm">
                        {counts.into_iter().map(|c| {
                            let mut next = filter.clone();
                            apply(&mut next, &c.value);
                            view! { <li class="break-words"><a class=LINK href=filter_href(&next, None)>{label(&c.value)}</a>{format!(" ({})", c.count)}</li> }
                        }).collect_view()}
                    </ul>
                </div>
            }
        }
    };
    let empty = rows.is_empty();
    let first_page = after.is_some().then(|| filter_href(&filter, None));
    let next_page = next_after.map(|n| filter_href(&filter, Some(n)));
    view! {
        // `minmax(0, 1fr)`: the list's column may be narrower than its widest code line, which
        // then truncates instead of widening the page.
        <div class="mt-6 grid gap-6 md:grid-cols-[12rem_minmax(0,1fr)]">
            <aside aria-label="Counts" class="space-y-4" data-testid="facets">
                {facet("Rule", by_rule, |f, v| f.rule = Some(v.to_owned()), crate::pages::rules::rule_label)}
                {facet("Kind", by_kind, |f, v| f.kind = Some(v.to_owned()), str::to_owned)}
                {facet("Ownership", by_owner, |f, v| {
                    f.unowned = v == "unowned";
                    if f.unowned { f.owner = None; }
                }, str::to_owned)}
                {facet("Reached", by_reached, |f, v| f.reached = Some(v.to_owned()), str::to_owned)}
                {facet("Code", by_code, |f, v| f.tests = Some(if v == "tests" { "only" } else { "no" }.to_owned()), str::to_owned)}
                {facet("Runs at", by_runs_at, |f, v| f.runs_at = Some(v.to_owned()), runs_at_label)}
                <p class="text-xs text-slate-600 dark:text-slate-300" data-testid="reach-caveat">
                    "Reached: its module is imported, directly or through other packages, by a tracked repository's non-test code. Imported is not called: an over-approximation. A shared-object write (UT013) is reached only when a request or a task is known to make it."
                </p>
                <p class="text-xs text-slate-600 dark:text-slate-300" data-testid="runs-at-caveat">
                    "Runs at: the finding's function walked back through its package's calls to an entry point (a view, middleware, a receiver, a task, start-up code). Calls are matched by name; calls from other packages are not followed, so a library's API is often \"unknown\"."
                </p>
            </aside>
            <section aria-live="polite" class="min-w-0">
                <p class="text-sm" data-testid="finding-total">
                    {format!("{total} matching findings")}
                    {unreached_hidden.map(|n| view! {
                        <span class="text-slate-600 dark:text-slate-300" data-testid="unreached-hidden">
                            {format!(" · {n} more where tracked code is not known to reach them: ")}
                            <a class=LINK href=with_unreached.clone()>"show them"</a>
                        </span>
                    })}
                    {tests_hidden.map(|n| view! {
                        <span class="text-slate-600 dark:text-slate-300" data-testid="tests-hidden">
                            {format!(" · {n} more in test code, out of scope: ")}
                            <a class=LINK href=with_tests.clone()>"include them"</a>
                        </span>
                    })}
                </p>
                {if empty {
                    view! { <p class="mt-4 text-slate-600 dark:text-slate-300" data-testid="empty">"No findings match these filters."</p> }.into_any()
                } else {
                    view! { <FindingTable rows /> }.into_any()
                }}
                <nav aria-label="Pages" class="mt-3 flex gap-4 text-sm">
                    {first_page.map(|href| view! { <a class=LINK href=href>"← First page"</a> })}
                    {next_page.map(|href| view! { <a class=LINK href=href rel="next" data-testid="next-page">"Next page →"</a> })}
                </nav>
            </section>
        </div>
    }
}
