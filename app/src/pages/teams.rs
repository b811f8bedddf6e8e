//! `/teams` and `/teams/:name`: progress by owner team — each repository's team as its own
//! `catalog-info.yaml` (Backstage's `spec.owner`) or `CODEOWNERS` says, read from the archive
//! of its last scan — with who works there and which claims went quiet.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::ui::{error_text, target_href, when, Alert, ProgressBar, LINK};
use db::views::{StaleClaimRow, TeamSummary};

/// A claim with no activity for this many days is stale (as in the weekly report's default).
pub const STALE_DAYS: i32 = 14;

#[server(prefix = "/api", endpoint = "teams")]
pub async fn get_teams() -> Result<Vec<TeamSummary>, ServerFnError> {
    let pool = crate::server::state()?.pool;
    crate::server::cached("teams".to_owned(), async move { db::models::teams::summaries(&pool, STALE_DAYS).await })
        .await
}

#[server(prefix = "/api", endpoint = "team")]
pub async fn get_team(name: String) -> Result<Option<(TeamSummary, Vec<StaleClaimRow>)>, ServerFnError> {
    let pool = crate::server::state()?.pool;
    let teams = get_teams().await?;
    let Some(team) = teams.into_iter().find(|t| t.team == name) else { return Ok(None) };
    let stale =
        db::models::teams::stale_claims(&pool, &name, STALE_DAYS).await.map_err(crate::server::database_error)?;
    Ok(Some((team, stale)))
}

/// The address of a team's page (its name percent-encoded: CODEOWNERS teams hold a `/`).
pub fn team_href(team: &str) -> String {
    format!("/teams/{}", form_urlencoded::byte_serialize(team.as_bytes()).collect::<String>())
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    let teams = Resource::new(|| (), |_| get_teams());
    view! {
        <Title text="Teams" />
        <h1 class="text-2xl font-semibold">"Teams"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Each repository's owner team, as its " <code>"catalog-info.yaml"</code> " (" <code>"spec.owner"</code>
            ") or " <code>"CODEOWNERS"</code> " says at its last scan. Dependencies have no team here."
        </p>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match teams.await {
                    Ok(teams) if teams.is_empty() => view! { <p class="mt-4" data-testid="empty">"No scanned repository names an owner team yet."</p> }.into_any(),
                    Ok(teams) => view! { <TeamList teams /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamList(teams: Vec<TeamSummary>) -> impl IntoView {
    view! {
        <ul class="mt-4 grid gap-3 md:grid-cols-2" data-testid="teams">
            {teams.into_iter().map(|t| view! {
                <li class="rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900" data-testid="team">
                    <a class=format!("{LINK} break-all font-medium") href=team_href(&t.team)>{t.team.clone()}</a>
                    <ProgressBar progress=t.progress.clone() label=t.team.clone() />
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                        {format!("{} open · {} repositor{}", t.progress.open, t.repositories.len(), if t.repositories.len() == 1 { "y" } else { "ies" })}
                        {(!t.owners.is_empty()).then(|| format!(" · working: {}", t.owners.join(", ")))}
                        {(t.stale_claims > 0).then(|| view! { <span class="text-amber-800 dark:text-amber-300">{format!(" · {} stale claim{}", t.stale_claims, if t.stale_claims == 1 { "" } else { "s" })}</span> })}
                    </p>
                </li>
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || {
        let raw = params.read().get("name").unwrap_or_default();
        // Percent-decoded once more: `%2F` may reach here still encoded.
        form_urlencoded::parse(format!("n={raw}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or(raw)
    };
    let team = Resource::new(name, get_team);
    view! {
        <Title text=move || format!("Team {}", name()) />
        <nav aria-label="Breadcrumb" class="text-sm"><a class=LINK href="/teams">"Teams"</a>" /"</nav>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match team.await {
                    Ok(Some((team, stale))) => view! { <TeamBody team stale /> }.into_any(),
                    Ok(None) => view! { <crate::pages::NotFound /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamBody(team: TeamSummary, stale: Vec<StaleClaimRow>) -> impl IntoView {
    let findings =
        format!("/findings?team={}", form_urlencoded::byte_serialize(team.team.as_bytes()).collect::<String>());
    view! {
        <h1 class="mt-1 break-all text-2xl font-semibold" data-testid="team-name">{team.team.clone()}</h1>
        <ProgressBar progress=team.progress.clone() label=team.team.clone() />
        <p class="mt-1 text-sm">
            {format!("{} open · {} fixed · ", team.progress.open, team.progress.fixed)}
            <a class=LINK href=findings>"its open findings"</a>
        </p>
        <section class="mt-6" aria-labelledby="team-repos">
            <h2 id="team-repos" class="text-lg font-semibold">"Repositories"</h2>
            <ul class="mt-2 space-y-1 text-sm" data-testid="team-repositories">
                {team.repositories.iter().map(|r| view! {
                    <li><a class=format!("{LINK} font-mono") href=target_href(r, db::kinds::TargetKind::Library)>{r.clone()}</a></li>
                }).collect_view()}
            </ul>
        </section>
        <section class="mt-6" aria-labelledby="team-owners">
            <h2 id="team-owners" class="text-lg font-semibold">"Who is working here"</h2>
            {if team.owners.is_empty() {
                view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"Nobody holds a claim here: " <a class=LINK href="/contribute">"pick an item"</a>"."</p> }.into_any()
            } else {
                view! { <p class="mt-1 text-sm">{team.owners.iter().map(|o| view! { <a class=format!("{LINK} mr-2") href=format!("/people/{o}")>{o.clone()}</a> }).collect_view()}</p> }.into_any()
            }}
        </section>
        <section class="mt-6" aria-labelledby="team-stale">
            <h2 id="team-stale" class="text-lg font-semibold">{format!("Stale claims (no activity for {STALE_DAYS} days)")}</h2>
            {stale.is_empty().then(|| view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"None."</p> })}
            <ul class="mt-2 space-y-1 text-sm" data-testid="stale-claims">
                {stale.into_iter().map(|s| {
                    let what = match (s.finding_id, s.what.clone()) {
                        (Some(id), Some(what)) => view! { <a class=LINK href=format!("/findings/{id}")>{what}</a> }.into_any(),
                        _ => view! { <span>{format!("all of {}", s.target)}</span> }.into_any(),
                    };
                    view! {
                        <li class="break-words">
                            <a class=LINK href=format!("/people/{}", s.owner)>{s.owner.clone()}</a>{s.owner_simulated.then_some(" (simulated)")}" holds " {what}
                            {format!(" in {} — claimed {}, last activity {}", s.target, when(&s.claimed_at), when(&s.last_activity))}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
