use leptos::prelude::*;
use leptos_meta::Title;

/// Rendered for every path no route matches; the server answers it with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <h1 class="text-2xl font-semibold">"Page not found"</h1>
        <p class="mt-2">
            <a class="text-indigo-700 underline dark:text-indigo-300" href="/">"Back to the overview"</a>
        </p>
    }
}
