//! The header's account corner: who is signed in (and how), or the ways to sign in. Plain
//! forms and links, so it works before (and without) hydration.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub user: Option<AccountUser>,
    /// Sign-in with GitHub is configured.
    pub github: bool,
    /// The development login is on.
    pub dev_login: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountUser {
    pub login: String,
    pub role: db::kinds::Role,
    /// Signed in through the development login, not GitHub.
    pub dev_only: bool,
}

#[server(prefix = "/api", endpoint = "account")]
pub async fn get_account() -> Result<Account, ServerFnError> {
    let state = crate::server::state()?;
    let user =
        crate::server::viewer().await?.map(|u| AccountUser { login: u.login, role: u.role, dev_only: u.dev_only });
    Ok(Account { user, github: state.sign_in.github, dev_login: state.sign_in.dev_login })
}

const BUTTON: &str = "rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2 dark:border-slate-700 dark:hover:bg-slate-800";

#[component]
fn DevBadge() -> impl IntoView {
    view! {
        <span
            data-testid="dev-login-badge"
            class="rounded bg-amber-200 px-1.5 py-0.5 text-xs font-medium text-amber-900"
            title="Anyone reaching this server can sign in as anyone: for demos and tests only"
        >
            <span class="sm:hidden">"dev login"</span>
            <span class="hidden sm:inline">"development login"</span>
        </span>
    }
}

#[component]
pub fn AccountMenu() -> impl IntoView {
    let account = Resource::new(|| (), |_| get_account());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Account { user: Some(user), .. }) => view! {
                        <div class="flex items-center gap-2 text-sm" data-testid="account">
                            {user.dev_only.then(|| view! { <DevBadge /> })}
                            <span data-testid="account-login" class="font-medium">{user.login.clone()}</span>
                            <span class="hidden text-slate-500 sm:inline dark:text-slate-400">{user.role.as_str()}</span>
                            {(user.role == db::kinds::Role::Maintainer).then(|| view! {
                                <a href="/admin" class="text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300" data-testid="admin-link">"Admin"</a>
                            })}
                            <form method="post" action="/auth/logout">
                                <button type="submit" class=BUTTON>"Sign out"</button>
                            </form>
                        </div>
                    }
                    .into_any(),
                    Ok(account) => view! {
                        <div class="flex flex-wrap items-center justify-end gap-3 text-sm" data-testid="account">
                            {account.github.then(|| view! {
                                <a href="/auth/login" rel="external" class=BUTTON>"Sign in with GitHub"</a>
                            })}
                            {account.dev_login.then(|| view! {
                                <form method="post" action="/auth/dev-login" class="flex flex-wrap items-center gap-2" data-testid="dev-login">
                                    <DevBadge />
                                    <label class="sr-only" for="dev-login-name">"Login"</label>
                                    <input id="dev-login-name" name="login" required placeholder="login" autocomplete="username"
                                        class="w-28 rounded border border-slate-300 px-2 py-1 dark:border-slate-700 dark:bg-slate-900" />
                                    <label class="sr-only" for="dev-login-role">"Role"</label>
                                    <select id="dev-login-role" name="role" class="rounded border border-slate-300 px-1 py-1 dark:border-slate-700 dark:bg-slate-900">
                                        <option value="contributor">"contributor"</option>
                                        <option value="maintainer">"maintainer"</option>
                                    </select>
                                    <button type="submit" class=BUTTON>"Sign in"</button>
                                </form>
                            })}
                        </div>
                    }
                    .into_any(),
                    // The page still works for reading; the corner stays empty.
                    Err(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
}
