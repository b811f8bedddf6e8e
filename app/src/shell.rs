//! The HTML document and the router shared by every page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

use crate::{
    components::account::AccountMenu,
    pages::{NotFound, OverviewPage},
};

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="unthread" href="/pkg/unthread.css" />
        <Title formatter=|page: String| format!("{page} · Unthread") />
        <Router>
            <header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                <nav class="mx-auto flex max-w-6xl items-center gap-6 px-4 py-3" aria-label="Main">
                    <a href="/" class="text-lg font-semibold tracking-tight focus-visible:outline-2">
                        "Unthread"
                    </a>
                    <span class="text-sm text-slate-500 dark:text-slate-400">
                        "thread locals → contextvars, tracked"
                    </span>
                    <div class="ml-auto">
                        <AccountMenu />
                    </div>
                </nav>
            </header>
            <main class="mx-auto max-w-6xl px-4 py-8">
                <Routes fallback=NotFound>
                    // Async rendering sends complete HTML, so every page reads fine without JavaScript.
                    <Route path=StaticSegment("") view=OverviewPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
