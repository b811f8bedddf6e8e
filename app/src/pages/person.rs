//! `/people/:login`: what someone owns, the targets they claimed, what they fixed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::{
    finding_table::FindingTable,
    ui::{error_text, target_href, when, Alert, StateBadge, LINK},
};
use db::views::Person;

#[server(prefix = "/api", endpoint = "person")]
pub async fn get_person(login: String) -> Result<Option<Person>, ServerFnError> {
    let pool = crate::server::state()?.pool;
    let person = crate::server::cached(format!("person:{}", login.to_lowercase()), async move {
        db::models::people::person(&pool, &login).await
    });
    let person = person.await?;
    if person.is_none() {
        crate::error::AppError::not_found("nobody by that login").into_server_fn_error();
    }
    Ok(person)
}

#[component]
pub fn PersonPage() -> impl IntoView {
    let params = use_params_map();
    let login = move || params.read().get("login").unwrap_or_default();
    let data = Resource::new(login, get_person);
    view! {
        <Title text=login />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(p)) => view! { <PersonBody p /> }.into_any(),
                    Ok(None) => view! { <crate::pages::NotFound /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PersonBody(p: Person) -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold" data-testid="person-login">{p.login.clone()}</h1>
        <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="person-kind">
            {p.name.clone().map(|n| format!("{n} · "))}
            {match p.role {
                Some(role) => role.as_str().to_owned(),
                None => "GitHub contributor (no account here): known from GitHub".to_owned(),
            }}
            " · "<a class=LINK href=format!("https://github.com/{}", p.login) rel="external noopener">"on GitHub"</a>
        </p>
        {(!p.github.is_empty()).then(|| view! {
            <section class="mt-6" aria-labelledby="github-heading" data-testid="person-github">
                <h2 id="github-heading" class="text-lg font-semibold">"On GitHub"</h2>
                <ul class="mt-1 space-y-1 text-sm">
                    {p.github.into_iter().map(|item| view! {
                        <li class="flex flex-wrap items-center gap-2">
                            <StateBadge state=item.state.clone() />
                            <span class="text-xs text-slate-500">{if item.kind == "pull" { "PR (author)" } else { "issue (assignee)" }}</span>
                            <a class=LINK href=item.url.clone() rel="external noopener">{format!("{}#{}", item.repository, item.number)}</a>
                            <span class="break-words">{item.title.clone()}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        {(!p.targets.is_empty()).then(|| view! {
            <section class="mt-6" aria-labelledby="targets-heading">
                <h2 id="targets-heading" class="text-lg font-semibold">"Whole targets claimed"</h2>
                <ul class="text-sm">{p.targets.into_iter().map(|(name, kind)| view! { <li><a class=LINK href=target_href(&name, kind)>{name.clone()}</a></li> }).collect_view()}</ul>
            </section>
        })}
        <section class="mt-6" aria-labelledby="owned-heading" data-testid="owned">
            <h2 id="owned-heading" class="text-lg font-semibold">{format!("Owns {} open findings", p.owned.len())}</h2>
            {if p.owned.is_empty() {
                view! { <p class="text-sm text-slate-600 dark:text-slate-300">"Nothing open. "<a class=LINK href="/contribute">"Pick something"</a>"."</p> }.into_any()
            } else {
                view! { <FindingTable rows=p.owned /> }.into_any()
            }}
        </section>
        <section class="mt-6" aria-labelledby="fixed-heading" data-testid="fixed">
            <h2 id="fixed-heading" class="text-lg font-semibold">{format!("Fixed {} (while owning them, or by their merged pull requests)", p.fixed.len())}</h2>
            {(!p.fixed.is_empty()).then(|| view! { <FindingTable rows=p.fixed /> })}
        </section>
        <section class="mt-6" aria-labelledby="activity-heading">
            <h2 id="activity-heading" class="text-lg font-semibold">"Recent activity"</h2>
            <ol class="text-sm">{p.activity.into_iter().map(|a| view! { <li><time datetime=a.at.to_rfc3339()>{when(&a.at)}</time>" · "{a.summary}</li> }).collect_view()}</ol>
        </section>
    }
}
