//! `/contribute`: the epic's open items nobody is assigned to, then open findings nobody
//! owns (fixable first, then cheapest), to claim in one click.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{
    ownership::{OwnershipControls, PageViewer},
    ui::{error_text, target_href, Alert, FormError, BUTTON, INPUT, LINK},
};

/// How many items the page lists.
pub const CONTRIBUTE_LIMIT: i64 = 50;

pub use db::views::ContributePick as Pick;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContributeData {
    /// The epic's open items nobody is assigned to on GitHub, with the findings they name.
    pub unassigned: Vec<db::views::UnassignedItem>,
    /// Pins a bump would move past open findings (small work: a requirements change).
    pub bumps: Vec<db::views::BumpItem>,
    pub picks: Vec<Pick>,
    /// Open, unowned findings left out because no tracked code imports their module, and the
    /// link that shows them (with the same rule and target).
    pub unreached_hidden: i64,
    pub show_unreached: String,
    pub viewer: Option<PageViewer>,
}

/// `unreached`: also list findings in modules no tracked code imports (left out by default).
#[server(prefix = "/api", endpoint = "contribute")]
pub async fn get_contribute(
    rule: Option<String>,
    target: Option<String>,
    unreached: Option<bool>,
) -> Result<ContributeData, ServerFnError> {
    let pool = crate::server::state()?.pool;
    let blank = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (rule, target) = (blank(rule), blank(target));
    let unreached = unreached.unwrap_or(false);
    let key = format!("contribute:{rule:?}:{target:?}:{unreached}");
    let filtered = rule.is_some() || target.is_some();
    let (rule_shown, target_shown) = (rule.clone(), target.clone());
    let db::views::UnownedOpen { picks, unreached_hidden } = crate::server::cached(key, async move {
        db::models::findings::unowned_open(&pool, rule.as_deref(), target.as_deref(), CONTRIBUTE_LIMIT, unreached).await
    })
    .await?;
    let pool = crate::server::state()?.pool;
    let bumps = if !filtered {
        crate::server::cached("contribute:bumps".to_owned(), async move {
            db::models::upgrades::bump_items(&pool, 10).await
        })
        .await?
    } else {
        Vec::new()
    };
    let pool = crate::server::state()?.pool;
    let unassigned = if !filtered {
        crate::server::cached("contribute:unassigned".to_owned(), async move {
            match db::models::epic::main_epic(&pool).await? {
                Some(epic) => db::models::epic::unassigned_open_items(&pool, &epic).await,
                None => Ok(Vec::new()),
            }
        })
        .await?
    } else {
        Vec::new()
    };
    Ok(ContributeData {
        unassigned,
        bumps,
        picks,
        unreached_hidden,
        show_unreached: crate::components::ui::href_with_query(
            "/contribute",
            &[
                ("rule", rule_shown.as_deref().unwrap_or("")),
                ("target", target_shown.as_deref().unwrap_or("")),
                ("unreached", "1"),
            ],
        ),
        viewer: crate::components::ownership::current_viewer().await?,
    })
}

/// A bump's effort from its version jump: a new major version (or leaving 0.x's minor) breaks
/// APIs by convention — not small, whatever the diff of the pin's line.
pub fn bump_effort(pinned: Option<&str>, version: &str) -> &'static str {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map_while(|p| p.parse().ok()).collect() };
    match pinned.map(parts) {
        Some(from) if !from.is_empty() => {
            let to = parts(version);
            let major_jump = to.first() != from.first();
            let zero_minor_jump = from.first() == Some(&0) && to.get(1) != from.get(1);
            if major_jump || zero_minor_jump {
                "large effort: a new major version"
            } else {
                "small effort: same major version"
            }
        }
        _ => "effort unknown: no pinned version",
    }
}

/// Small, medium or large, from effort points.
pub fn effort_label(points: i64) -> &'static str {
    match points {
        ..=3 => "small",
        4..=8 => "medium",
        _ => "large",
    }
}

#[cfg(test)]
mod tests {
    use super::bump_effort;

    #[test]
    fn a_major_version_is_not_a_small_bump() {
        assert_eq!(bump_effort(Some("1.26.4"), "2.5.0"), "large effort: a new major version");
        assert_eq!(bump_effort(Some("12.1.0"), "13.0.0"), "large effort: a new major version");
        assert_eq!(bump_effort(Some("0.7.9"), "0.8.0"), "large effort: a new major version");
        assert_eq!(bump_effort(Some("3.13.1"), "3.16.1"), "small effort: same major version");
        assert_eq!(bump_effort(None, "1.0"), "effort unknown: no pinned version");
    }
}

#[component]
pub fn ContributePage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || (query.read().get("rule"), query.read().get("target"), query.read().get("unreached")),
        |(rule, target, unreached)| {
            get_contribute(rule, target, Some(matches!(unreached.as_deref(), Some("1" | "on"))))
        },
    );
    view! {
        <Title text="Contribute" />
        <h1 class="text-2xl font-semibold">"Pick something to fix"</h1>
        <FormError />
        <p class="mt-1 max-w-3xl text-slate-600 dark:text-slate-300">
            "The epic's items nobody is assigned to, then findings nobody owns: mechanical fixes first, then thread locals whose migration clears calls elsewhere, then the smallest. Claim one and it is yours: others see it at once."
        </p>
        <details class="mt-1 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
            <summary class="cursor-pointer">"How this list is ordered"</summary>
            <p class="mt-1">
                "A finding with a mechanical fix: claim it, and its page opens the pull request. \"Clears N calls elsewhere\": the calls in other code whose chain ends at that thread local, through any package's API. A finding an open GitHub item already names says so: read it before starting. The effort comes from the rule (deleting an unused "
                <code>"import threading"</code>" is quicker than replacing a thread-local class used all over) and from how many open findings share the file (they usually have to change together)."
            </p>
        </details>
        <form method="get" action="/contribute" class="mt-4 flex flex-wrap items-end gap-3" role="search">
            <label class="flex flex-col text-sm">"Rule"
                <select name="rule" class=INPUT>
                    <option value="">"any"</option>
                    {move || {
                        let current = query.read().get("rule").unwrap_or_default();
                        crate::pages::rules::RULE_IDS.iter().map(|id| view! { <option value=*id selected=current == *id>{*id}</option> }).collect_view()
                    }}
                </select>
            </label>
            <label class="flex flex-col text-sm">"Target"
                <input name="target" class=INPUT value=move || query.read().get("target").unwrap_or_default() placeholder="owner/name or package" />
            </label>
            <button type="submit" class=BUTTON>"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) if data.picks.is_empty() && data.bumps.is_empty() && data.unassigned.is_empty() => view! {
                        <p class="mt-6 text-slate-600 dark:text-slate-300" data-testid="empty">"Everything here has an owner. "<a class=LINK href="/findings">"Browse all findings"</a>"."</p>
                    }.into_any(),
                    Ok(data) => view! { <Picks data /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Picks(data: ContributeData) -> impl IntoView {
    let bumps = data.bumps.clone();
    let unassigned = data.unassigned.clone();
    view! {
        {(!unassigned.is_empty()).then(|| view! { <Unassigned items=unassigned /> })}
        {(!bumps.is_empty()).then(|| view! {
            <section aria-labelledby="bumps-heading" class="mt-6">
                <h2 id="bumps-heading" class="text-lg font-semibold">"Bump a pin"</h2>
                <p class="text-sm text-slate-600 dark:text-slate-300">"A newer release no longer has these findings: the fix is a requirements change — small within a major version, large across one (check its Requires-Python and requirements; Unthread does not claim the bump is compatible)."</p>
                <ul class="mt-2 space-y-2">
                    {bumps.into_iter().map(|b| view! {
                        <li class="rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" data-testid="bump">
                            <div class="flex flex-wrap items-baseline gap-2">
                                <a class=LINK href=target_href(&b.name, db::kinds::TargetKind::Dependency)>
                                    {format!("Bump {} {} → {}", b.name, b.pinned.clone().unwrap_or_default(), b.version)}
                                </a>
                                <span class="text-sm">{format!("clears {} of {} open", b.clears, b.open)}</span>
                                {b.requires_python.clone().map(|r| view! { <span class="text-xs text-slate-500">{format!("Requires-Python {r}")}</span> })}
                                <span class="ml-auto rounded bg-slate-100 px-1.5 text-xs dark:bg-slate-800" data-testid="bump-effort">{bump_effort(b.pinned.as_deref(), &b.version)}</span>
                            </div>
                            <div class="mt-2"><OwnershipControls kind="bump" id=b.target_id version=b.version.clone() owner=None through_target=false viewer=data.viewer.clone() /></div>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
            <h2 class="mt-6 text-lg font-semibold">"Fix the code"</h2>
        })}
        {(data.unreached_hidden > 0).then(|| view! {
            <p class="mt-4 text-sm text-slate-600 dark:text-slate-300" data-testid="unreached-hidden">
                {format!("{} more unowned findings are where tracked code is not known to reach them, left out here: ", data.unreached_hidden)}
                <a class=LINK href=data.show_unreached.clone()>"show them"</a>
            </p>
        })}
        <ol class="mt-6 space-y-3" data-testid="picks">
            {data.picks.into_iter().map(|p| {
                let f = p.finding;
                view! {
                    <li class="rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" data-testid="pick" data-finding-id=f.id.to_string()>
                        <div class="flex flex-wrap items-baseline gap-2">
                            <a class=format!("{LINK} break-all") href=format!("/findings/{}", f.id)>{format!("{} in {}", f.rule, f.path)}</a>
                            <span class="text-sm text-slate-500">{format!("line {}", f.line)}</span>
                            <a class=format!("{LINK} break-all font-mono text-xs") href=target_href(&f.target, f.target_kind)>{f.target.clone()}</a>
                            {p.fix.clone().map(|fix| view! {
                                <span class="rounded bg-emerald-100 px-1.5 text-xs text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100" data-testid="fix-available">
                                    {if fix == "safe" { "fix available" } else { "fix available (unsafe: review)" }}
                                </span>
                            })}
                            {(p.clears > 0).then(|| view! {
                                <span class="rounded bg-amber-100 px-1.5 text-xs text-amber-900 dark:bg-amber-900 dark:text-amber-100" data-testid="clears">
                                    {format!("clears {} call{} elsewhere", p.clears, if p.clears == 1 { "" } else { "s" })}
                                </span>
                            })}
                            <span class="ml-auto rounded bg-slate-100 px-1.5 text-xs dark:bg-slate-800" title=format!("{} points: rule {}, {} open in this file", p.effort, f.rule, p.open_in_file)>
                                {format!("{} effort", effort_label(p.effort))}
                            </span>
                        </div>
                        {(!p.filed_as.is_empty()).then(|| view! {
                            <p class="mt-1 text-sm text-amber-900 dark:text-amber-200" data-testid="filed-as">
                                "Already filed: "
                                {p.filed_as.iter().map(|item| view! {
                                    <a class=LINK href=item.html_url.clone() title=item.title.clone()>{item.label()}</a>" "
                                }).collect_view()}
                                "— read it before starting, and do not file another."
                            </p>
                        })}
                        <pre class="mt-1 overflow-x-auto text-xs"><code>{f.snippet.clone().unwrap_or_default()}</code></pre>
                        <div class="mt-2"><OwnershipControls kind="finding" id=f.id owner=f.owner.clone() through_target=false viewer=data.viewer.clone() /></div>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// The epic's open items nobody is assigned to: filed work waiting for someone, the first
/// thing to pick up (take it on GitHub, then claim what it names here).
#[component]
fn Unassigned(items: Vec<db::views::UnassignedItem>) -> impl IntoView {
    view! {
        <section aria-labelledby="unassigned-heading" class="mt-6" data-testid="unassigned">
            <h2 id="unassigned-heading" class="text-lg font-semibold">"Filed, nobody assigned"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-300">
                "The epic's open items with no assignee on GitHub, oldest first. Ask to be assigned on the issue, then claim the findings it names here so that others see it is taken."
            </p>
            <ul class="mt-2 space-y-2">
                {items.into_iter().map(|u| {
                    let names = u.names.len();
                    view! {
                        <li class="rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" data-testid="unassigned-item">
                            <div class="flex flex-wrap items-baseline gap-2">
                                <a class=format!("{LINK} font-medium") href=u.item.html_url.clone()>{u.item.label()}</a>
                                <span>{u.item.title.clone()}</span>
                                <span class="ml-auto text-xs text-slate-500">{format!("opened {} · last activity {}", u.created_at.format("%Y-%m-%d"), u.updated_at.format("%Y-%m-%d"))}</span>
                            </div>
                            {if names == 0 {
                                view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"It names no open finding here (tooling, a dependency, or code not scanned)."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="mt-1 text-sm">
                                        {u.names.into_iter().map(|(id, rule, target, path, line)| view! {
                                            <li><a class=format!("{LINK} break-all") href=format!("/findings/{id}")>{format!("{rule} in {path}:{line}")}</a>" "<span class="text-xs text-slate-500">{target}</span></li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
