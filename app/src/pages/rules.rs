//! `/rules` and `/rules/:id`: the scanner's catalogue with how many findings each rule has,
//! and each rule's full help.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::components::ui::{error_text, href_with_query, Alert, ProgressBar, UnreachedNote, LINK};
use db::views::Progress;

/// Every rule id, in catalogue order (the browser has no copy of the scanner; a test keeps
/// this list equal to the catalogue).
pub const RULE_IDS: [&str; 14] = [
    "UT001", "UT002", "UT003", "UT004", "UT005", "UT006", "UT007", "UT008", "UT009", "UT010", "UT011", "UT012",
    "UT013", "UT100",
];

/// Their names, in the same order (for labels the browser renders too, such as the
/// explorer's facets: the scanner is not in the browser bundle).
pub const RULE_NAMES: [&str; 14] = [
    "thread-local-instance",
    "thread-local-subclass",
    "thread-lock",
    "lock-in-async",
    "thread-spawn",
    "executor-without-context",
    "task-context-copy",
    "sync-to-async-thread-sensitive",
    "async-to-sync-in-async",
    "mutable-module-global",
    "thread-local-api-use",
    "threading-import-unused",
    "shared-object-attribute-write",
    "contextvar",
];

/// "UT001 thread-local-instance", or the id alone for a rule this build does not know.
pub fn rule_label(id: &str) -> String {
    match RULE_IDS.iter().position(|r| *r == id) {
        Some(i) => format!("{id} {}", RULE_NAMES[i]),
        None => id.to_owned(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub severity: String,
    pub summary: String,
    pub progress: Progress,
    /// The rule needs the call graph (UT013): it counts request- and worker-time findings
    /// only, and `unthread-scan` runs it with `--runs-at`.
    pub needs_call_graph: bool,
}

/// The catalogue with each rule's progress, in the pages' scope (findings tracked code is not
/// known to reach left out unless `include_unreached`), and how many open ones that leaves out.
#[server(prefix = "/api", endpoint = "rules")]
pub async fn get_rules(include_unreached: bool) -> Result<(Vec<RuleInfo>, i64), ServerFnError> {
    let pool = crate::server::state()?.pool;
    let (counts, left_out) = crate::server::cached(format!("rules:{include_unreached}"), async move {
        let counts = db::models::progress::by_rule_in(&pool, None, include_unreached).await?;
        Ok((counts, db::models::progress::open_unreached(&pool, None).await?))
    })
    .await?;
    let rules = scanner::rules::catalogue()
        .map(|rule| RuleInfo {
            id: rule.id.to_owned(),
            name: rule.name.to_owned(),
            severity: rule.severity.as_str().to_owned(),
            summary: rule.summary.to_owned(),
            progress: counts.iter().find(|c| c.rule == rule.id).map(|c| c.progress.clone()).unwrap_or_default(),
            needs_call_graph: scanner::rules::needs_call_graph(rule.id),
        })
        .collect();
    Ok((rules, left_out))
}

/// One rule with its help as HTML (rendered on the server from the catalogue's Markdown).
#[server(prefix = "/api", endpoint = "rule")]
pub async fn get_rule(id: String) -> Result<Option<(RuleInfo, String)>, ServerFnError> {
    let Some(rule) = scanner::rules::by_id(&id) else {
        crate::error::AppError::not_found("no such rule").into_server_fn_error();
        return Ok(None);
    };
    let info = get_rules(false).await?.0.into_iter().find(|r| r.id == rule.id).expect("every catalogue rule is listed");
    Ok(Some((info, crate::markdown::to_html(&rule.help_markdown()))))
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let query = use_query_map();
    let include_unreached = move || crate::components::ui::include_unreached(&query.read());
    let rules = Resource::new(include_unreached, get_rules);
    view! {
        <Title text="Rules" />
        <h1 class="text-2xl font-semibold">"Rules"</h1>
        <p class="mt-1 text-slate-600 dark:text-slate-300">"What the scanner looks for, and how many of each are left."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rules.await {
                    // On a phone the table scrolls sideways in its own box, not the page.
                    Ok((rules, left_out)) => view! {
                        <UnreachedNote
                            count=left_out
                            included=include_unreached()
                            show="/rules?unreached=1".to_owned()
                            hide="/rules".to_owned()
                        />
                        <div class="overflow-x-auto"><table class="mt-4 w-full text-sm" data-testid="rules">
                            <thead><tr class="text-left"><th scope="col">"Rule"</th><th scope="col">"Finds"</th><th scope="col">"Severity"</th><th scope="col">"Open"</th><th scope="col" class="w-64">"Progress"</th></tr></thead>
                            <tbody>
                                {rules.into_iter().map(|r| view! {
                                    <tr class="border-t border-slate-200 align-top dark:border-slate-800">
                                        <td class="py-2 pr-3"><a class=LINK href=format!("/rules/{}", r.id)>{r.id.clone()}</a><br /><span class="text-xs text-slate-500">{r.name.clone()}</span></td>
                                        <td class="py-2 pr-3">{r.summary.clone()}</td>
                                        <td class="py-2 pr-3">{r.severity.clone()}</td>
                                        <td class="py-2 pr-3 tabular-nums"><a class=LINK href=href_with_query("/findings", &[("rule", &r.id)])>{r.progress.open}</a></td>
                                        <td class="py-2">
                                            <ProgressBar progress=r.progress label=r.id.clone() />
                                            {r.needs_call_graph.then(|| view! {
                                                <p class="mt-1 text-xs text-slate-500">"Writes no request or task is known to make are left out by default (unthread-scan: with --runs-at)"</p>
                                            })}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn RulePage() -> impl IntoView {
    let params = use_params_map();
    let rule = Resource::new(move || params.read().get("id").unwrap_or_default(), get_rule);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rule.await {
                    Ok(Some((info, help))) => view! {
                        <Title text=info.id.clone() />
                        <nav aria-label="Breadcrumb" class="text-sm"><a class=LINK href="/rules">"Rules"</a>" /"</nav>
                        <h1 class="text-2xl font-semibold">{format!("{} {}", info.id, info.name)}</h1>
                        <p class="mt-1">{info.summary.clone()}</p>
                        <div class="mt-3 max-w-md"><ProgressBar progress=info.progress.clone() label=info.id.clone() /></div>
                        <p class="mt-2 text-sm">
                            <a class=LINK href=href_with_query("/findings", &[("rule", &info.id)])>{format!("{} open findings", info.progress.open)}</a>
                            " · "
                            <a class=LINK href=href_with_query("/contribute", &[("rule", &info.id)])>"unowned ones to pick"</a>
                        </p>
                        <div class="prose-unthread mt-6" data-testid="rule-help" inner_html=help></div>
                    }.into_any(),
                    Ok(None) => view! { <crate::pages::NotFound /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn rule_ids_match_the_scanner_catalogue() {
        let catalogue: Vec<&str> = scanner::rules::catalogue().map(|r| r.id).collect();
        assert_eq!(catalogue, super::RULE_IDS);
        let names: Vec<&str> = scanner::rules::catalogue().map(|r| r.name).collect();
        assert_eq!(names, super::RULE_NAMES);
    }
}
