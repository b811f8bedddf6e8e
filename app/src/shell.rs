//! The HTML document and the router shared by every page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    components::{account::AccountMenu, ownership::UserSuggestions},
    live::LiveIndicator,
    pages::{
        contribute::ContributePage,
        finding::FindingPage,
        findings::FindingsPage,
        person::PersonPage,
        report::WeeklyReportPage,
        rules::{RulePage, RulesPage},
        target::{DependencyPage, RepositoryPage},
        targets::{DependenciesPage, RepositoriesPage},
        NotFound, OverviewPage,
    },
};

const NAV_LINK: &str = "rounded px-1 text-sm hover:underline focus-visible:outline-2 focus-visible:outline-indigo-600 aria-[current=page]:font-semibold";

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                // No favicon request (and no 404 for it).
                <link rel="icon" href="data:," />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy, with this response's nonce: scripts run only from this
/// origin or inline with the nonce (Leptos puts it on its hydration scripts), the islands'
/// WebAssembly may compile, styles come from this origin (and `style` attributes, which the
/// progress bars use), images also from GitHub's avatars, connections (the live stream, server
/// functions) only back here, and no other site may frame the page. Other answers get a
/// stricter policy from the server.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
    let Some(nonce) = leptos::nonce::use_nonce() else { return };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: https://avatars.githubusercontent.com; \
         connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The server's notice (the demo's "what is real, what is simulated"), rendered on the server.
#[component]
fn Notice() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let notice = use_context::<crate::state::AppState>().and_then(|state| state.notice);
    #[cfg(not(feature = "ssr"))]
    let notice: Option<String> = None;
    notice.map(|text| {
        view! {
            // A phone shows one line, the whole text one tap away: the first screen is the page's.
            <div class="border-b border-amber-200 bg-amber-50 px-4 py-1.5 text-center text-xs text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-200" role="note" data-testid="notice">
                <details class="sm:hidden">
                    <summary class="cursor-pointer">"About this data: what is real, what is simulated"</summary>
                    <p class="mt-1 text-left">{text.clone()}</p>
                </details>
                <p class="hidden sm:block">{text}</p>
            </div>
        }
    })
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="unthread" href="/pkg/unthread.css" />
        // leptos_meta writes the title into `<title>` as it is: page titles carry names from
        // outside (a team from a repository's catalog-info.yaml, a login, a target), so the
        // formatter escapes them. (Titles are rendered on the server only: no island sets one.)
        <Title formatter=|page: String| format!("{} · Unthread", crate::components::ui::escape_html(&page)) />
        <Router>
            <header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                // On a phone the links scroll sideways in one row instead of wrapping into three:
                // the header stays two rows high, above the fold's content.
                <nav class="mx-auto flex max-w-6xl flex-wrap items-center gap-x-5 gap-y-1 px-4 py-2 sm:py-3" aria-label="Main">
                    <div class="flex min-w-0 max-w-full basis-full items-center gap-x-5 overflow-x-auto whitespace-nowrap sm:basis-auto sm:flex-wrap sm:gap-y-2 sm:overflow-visible" data-testid="nav-links">
                        <a href="/" class="text-lg font-semibold tracking-tight focus-visible:outline-2">
                            "Unthread"
                        </a>
                        <a href="/repos" class=NAV_LINK>"Repositories"</a>
                        <a href="/deps" class=NAV_LINK>"Dependencies"</a>
                        <a href="/findings" class=NAV_LINK>"Findings"</a>
                        <a href="/changes" class=NAV_LINK>"Changes"</a>
                        <a href="/teams" class=NAV_LINK>"Teams"</a>
                        <a href="/contribute" class=NAV_LINK>"Contribute"</a>
                        <a href="/rules" class=NAV_LINK>"Rules"</a>
                        <a href="/reports/weekly" class=NAV_LINK>"Weekly status"</a>
                    </div>
                    <div class="ml-auto flex items-center gap-3">
                        <LiveIndicator />
                        <AccountMenu />
                    </div>
                </nav>
            </header>
            <Notice />
            <main class="mx-auto max-w-6xl px-4 py-8">
                <Routes fallback=NotFound>
                    // Async rendering sends complete HTML, so every page reads fine without JavaScript.
                    <Route path=path!("") view=OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/repos") view=RepositoriesPage ssr=SsrMode::Async />
                    <Route path=path!("/repos/:owner/:name") view=RepositoryPage ssr=SsrMode::Async />
                    <Route path=path!("/deps") view=DependenciesPage ssr=SsrMode::Async />
                    <Route path=path!("/deps/:name") view=DependencyPage ssr=SsrMode::Async />
                    <Route path=path!("/findings") view=FindingsPage ssr=SsrMode::Async />
                    <Route path=path!("/findings/:id") view=FindingPage ssr=SsrMode::Async />
                    <Route path=path!("/contribute") view=ContributePage ssr=SsrMode::Async />
                    <Route path=path!("/people/:login") view=PersonPage ssr=SsrMode::Async />
                    <Route path=path!("/changes") view=crate::pages::changes::ChangesPage ssr=SsrMode::Async />
                    <Route path=path!("/teams") view=crate::pages::teams::TeamsPage ssr=SsrMode::Async />
                    <Route path=path!("/teams/:name") view=crate::pages::teams::TeamPage ssr=SsrMode::Async />
                    <Route path=path!("/rules") view=RulesPage ssr=SsrMode::Async />
                    <Route path=path!("/rules/:id") view=RulePage ssr=SsrMode::Async />
                    <Route path=path!("/reports/weekly") view=WeeklyReportPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=crate::pages::admin::AdminPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <UserSuggestions />
        </Router>
    }
}
