//! Claim, release and assign: the forms and the server functions behind them. Plain HTML
//! forms (they work without JavaScript; errors come back in the URL); an island once the
//! browser runs it: the action is sent in the background and the page refreshed in place.

use leptos::{form::ActionForm, prelude::*};
use serde::{Deserialize, Serialize};

use super::ui::{error_text, Alert, BUTTON, INPUT, PRIMARY_BUTTON};

/// Who is looking at the page, as pages need it to offer the right actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageViewer {
    pub login: String,
    pub maintainer: bool,
}

#[cfg(feature = "ssr")]
pub async fn current_viewer() -> Result<Option<PageViewer>, ServerFnError> {
    Ok(crate::server::viewer().await?.map(|u| PageViewer { maintainer: u.is_maintainer(), login: u.login }))
}

#[cfg(feature = "ssr")]
fn item(kind: &str, id: &str) -> Result<db::models::claims::Item, ServerFnError> {
    use db::models::claims::Item;
    let id = crate::server::parse_id(id)?;
    match kind {
        "finding" => Ok(Item::Finding(id)),
        "target" => Ok(Item::Target(id)),
        other => {
            Err(crate::error::AppError::bad_request(format!("cannot own a {other:?}: use finding, target or bump"))
                .into_server_fn_error())
        }
    }
}

#[cfg(feature = "ssr")]
fn claim_failure(err: db::models::claims::ClaimError) -> ServerFnError {
    crate::error::AppError::from(err).into()
}

/// What an ownership form is about: a finding, a target, or a dependency's bump to a
/// release (`version`: the findings that release clears).
#[cfg(feature = "ssr")]
enum Subject {
    Item(db::models::claims::Item),
    Bump { target_id: i64, version: String },
}

#[cfg(feature = "ssr")]
fn subject(kind: &str, id: &str, version: Option<String>) -> Result<Subject, ServerFnError> {
    if kind != "bump" {
        return item(kind, id).map(Subject::Item);
    }
    let version =
        version.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty() && v.len() <= 100).ok_or_else(|| {
            crate::error::AppError::bad_request("a bump needs the version it bumps to").into_server_fn_error()
        })?;
    Ok(Subject::Bump { target_id: crate::server::parse_id(id)?, version })
}

/// Takes a finding, a whole target or a bump for the signed-in user.
#[server(prefix = "/api", endpoint = "claim")]
pub async fn claim(kind: String, id: String, version: Option<String>) -> Result<(), ServerFnError> {
    use db::models::claims;
    let user = crate::server::require_user().await?;
    let pool = crate::server::state()?.pool;
    match subject(&kind, &id, version)? {
        Subject::Item(item) => claims::claim(&pool, &user, item).await.map_err(claim_failure)?,
        Subject::Bump { target_id, version } => {
            claims::claim_bump(&pool, &user, target_id, &version).await.map(drop).map_err(claim_failure)?
        }
    }
    crate::server::changed();
    Ok(())
}

/// Gives up a claim (its owner, or a maintainer).
#[server(prefix = "/api", endpoint = "unclaim")]
pub async fn unclaim(kind: String, id: String, version: Option<String>) -> Result<(), ServerFnError> {
    use db::models::claims;
    let user = crate::server::require_user().await?;
    let pool = crate::server::state()?.pool;
    match subject(&kind, &id, version)? {
        Subject::Item(item) => claims::unclaim(&pool, &user, item).await.map_err(claim_failure)?,
        Subject::Bump { target_id, version } => {
            claims::unclaim_bump(&pool, &user, target_id, &version).await.map(drop).map_err(claim_failure)?
        }
    }
    crate::server::changed();
    Ok(())
}

/// A maintainer makes someone else the owner.
#[server(prefix = "/api", endpoint = "assign")]
pub async fn assign(kind: String, id: String, login: String, version: Option<String>) -> Result<(), ServerFnError> {
    use db::models::claims;
    let user = crate::server::require_maintainer().await?;
    let login = login.trim();
    if login.is_empty() {
        return Err(crate::error::AppError::unprocessable("say who to assign it to").into_server_fn_error());
    }
    let pool = crate::server::state()?.pool;
    match subject(&kind, &id, version)? {
        Subject::Item(item) => claims::assign(&pool, &user, item, login).await.map_err(claim_failure)?,
        Subject::Bump { target_id, version } => {
            claims::assign_bump(&pool, &user, target_id, &version, login).await.map(drop).map_err(claim_failure)?
        }
    }
    crate::server::changed();
    Ok(())
}

/// Logins starting with `prefix`, for the assign box's suggestions; empty for anyone but
/// maintainers (only they assign).
#[server(prefix = "/api", endpoint = "users")]
pub async fn search_users(prefix: String) -> Result<Vec<String>, ServerFnError> {
    if !crate::server::viewer().await?.is_some_and(|u| u.is_maintainer()) {
        return Ok(Vec::new());
    }
    let state = crate::server::state()?;
    db::models::users::search(&state.pool, prefix.trim(), 50).await.map_err(crate::server::database_error)
}

/// The ownership corner of a finding or target: who owns it and what the viewer may do.
#[island]
pub fn OwnershipControls(
    /// `finding` or `target`.
    #[prop(into)]
    kind: String,
    id: i64,
    owner: Option<String>,
    /// The owner's claim covers the whole target (for a finding).
    through_target: bool,
    viewer: Option<PageViewer>,
    /// For kind `bump`: the release it bumps to (`id` is the dependency's).
    #[prop(optional)]
    version: Option<String>,
) -> impl IntoView {
    let claim = ServerAction::<Claim>::new();
    let unclaim = ServerAction::<Unclaim>::new();
    let assign = ServerAction::<Assign>::new();
    // After a change went through, show the page as it is now (a refusal keeps the controls
    // and their message as they are).
    Effect::new(move |_| {
        let succeeded = [claim.value().get(), unclaim.value().get(), assign.value().get()]
            .into_iter()
            .any(|result| matches!(result, Some(Ok(()))));
        if succeeded {
            crate::live::refresh_page();
        }
    });
    let error = move || {
        [
            claim.value().get().and_then(|r| r.err()),
            unclaim.value().get().and_then(|r| r.err()),
            assign.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <Alert message=error_text(&e) /> })
    };
    // As a `&'static str` the closures below can be called from every branch.
    let kind: &'static str = match kind.as_str() {
        "target" => "target",
        "bump" => "bump",
        _ => "finding",
    };
    let what = match kind {
        "target" => "this whole target",
        "bump" => "this bump",
        _ => "this finding",
    };
    let mine = matches!((&owner, &viewer), (Some(o), Some(v)) if o.eq_ignore_ascii_case(&v.login));
    let maintainer = viewer.as_ref().is_some_and(|v| v.maintainer);
    let status = match &owner {
        Some(owner) if mine => view! { <p data-testid="owner">"You own " {what} "."</p> }.into_any(),
        Some(owner) => view! {
            <p data-testid="owner">
                "Owned by " <a class=super::ui::LINK href=format!("/people/{owner}")>{owner.clone()}</a>
                {through_target.then_some(" (through a claim on the whole target)")}
            </p>
        }
        .into_any(),
        None => view! { <p data-testid="owner">"Nobody owns " {what} " yet."</p> }.into_any(),
    };
    let version = StoredValue::new(version);
    let id_fields = move || {
        view! {
            <input type="hidden" name="kind" value=kind /><input type="hidden" name="id" value=id.to_string() />
            {version.get_value().map(|v| view! { <input type="hidden" name="version" value=v /> })}
        }
    };
    view! {
        <div class="space-y-2" data-testid=format!("ownership-{kind}")>
            {status}
            <div class="flex flex-wrap items-center gap-2">
                {match (&viewer, &owner) {
                    (None, _) => view! { <p class="text-sm text-slate-600 dark:text-slate-300">"Sign in to claim or assign."</p> }.into_any(),
                    // Claiming something covered by one's own target claim makes it one's own
                    // directly; covered by someone else's, only a maintainer may reassign.
                    (Some(_), None) => view! {
                        <ActionForm action=claim>
                            {id_fields()}
                            <button type="submit" class=PRIMARY_BUTTON data-testid="claim">
                                {match kind {
                                    "target" => "Claim the whole target",
                                    "bump" => "Claim this bump",
                                    _ => "Claim",
                                }}
                            </button>
                        </ActionForm>
                    }.into_any(),
                    (Some(_), Some(_)) if (mine || maintainer) && !through_target => view! {
                        <ActionForm action=unclaim>
                            {id_fields()}
                            <button type="submit" class=BUTTON data-testid="unclaim">{if mine { "Unclaim" } else { "Release" }}</button>
                        </ActionForm>
                    }.into_any(),
                    _ => ().into_any(),
                }}
                {maintainer.then(|| view! {
                    <ActionForm action=assign attr:class="flex items-center gap-1">
                        {id_fields()}
                        <label class="text-sm" for=format!("assign-{kind}-{id}")>"Assign to"</label>
                        <input id=format!("assign-{kind}-{id}") name="login" required placeholder="login" autocomplete="off"
                            list="known-users" class=format!("{INPUT} w-32") data-testid="assign-login" />
                        <button type="submit" class=BUTTON data-testid="assign">"Assign"</button>
                    </ActionForm>
                })}
            </div>
            {error}
        </div>
    }
}

/// Known logins as a `<datalist>` for every assign box of the page (empty unless a
/// maintainer is looking: only they assign).
#[component]
pub fn UserSuggestions() -> impl IntoView {
    let users = Resource::new(|| (), |_| search_users(String::new()));
    view! {
        <datalist id="known-users">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    users.await.unwrap_or_default().into_iter().map(|l| view! { <option value=l /> }).collect_view()
                })}
            </Suspense>
        </datalist>
    }
}
