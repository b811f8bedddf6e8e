//! Live updates: the server pushes every event (claims, triage, scans, syncs) over
//! server-sent events, fed by PostgreSQL `LISTEN/NOTIFY` so that all server processes
//! agree. Pages are rendered on the server only (Leptos islands); the one island that holds
//! the stream, [`LiveIndicator`], answers each message by fetching the page again and
//! swapping its `<main>` in place ([`refresh_page`]). The browser's `EventSource` reconnects
//! by itself after a drop; a reconnection refreshes too, so whatever was missed shows.

use leptos::prelude::*;

/// Where the stream is served.
pub const LIVE_PATH: &str = "/api/live";

/// A small "live" mark in the header: whether this page receives updates. It owns the page's
/// one stream.
#[island]
pub fn LiveIndicator() -> impl IntoView {
    let (connected, set_connected) = signal(false);
    #[cfg(feature = "hydrate")]
    browser::connect(set_connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = set_connected;
    view! {
        <span
            data-testid="live-indicator"
            data-live=move || if connected.get() { "open" } else { "closed" }
            class="text-xs text-slate-500 dark:text-slate-400"
            title="Claims and triage made elsewhere appear here without reloading"
        >
            {move || if connected.get() { "● live" } else { "○ not live" }}
        </span>
    }
}

/// Shows the current state of the page after one of its own actions went through, without
/// waiting for the stream (and without reloading). Does nothing on the server.
pub fn refresh_page() {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(browser::refresh());
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::Cell, rc::Rc};

    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    pub fn connect(set_connected: WriteSignal<bool>) {
        let Ok(source) = web_sys::EventSource::new(super::LIVE_PATH) else { return };
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| refresh_soon());
        // The first opening is the page just loaded; a later one is a reconnection, after
        // which anything may have changed.
        let opened_before = Rc::new(Cell::new(false));
        let on_open = Closure::<dyn FnMut()>::new(move || {
            set_connected.set(true);
            if opened_before.replace(true) {
                refresh_soon();
            }
        });
        let on_error = Closure::<dyn FnMut()>::new(move || set_connected.set(false));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The page keeps one stream for its whole life.
        on_message.forget();
        on_open.forget();
        on_error.forget();
        std::mem::forget(source);
    }

    thread_local! {
        /// A refresh is queued or running: a burst of events (a rescan sends several) makes
        /// one request, not one each.
        static PENDING: Cell<bool> = const { Cell::new(false) };
        /// In-place refreshes so far (see [`RELOAD_AFTER`]).
        static REFRESHES: Cell<u32> = const { Cell::new(0) };
    }

    /// Leptos 0.8 has no way to unmount a hydrated island: the islands of a swapped-out
    /// `<main>` keep their (small) reactive state until the page goes. A tab left open for
    /// days would grow without end, so every this many refreshes the page reloads instead,
    /// which frees them all.
    const RELOAD_AFTER: u32 = 500;

    fn refresh_soon() {
        if PENDING.with(|p| p.replace(true)) {
            return;
        }
        leptos::task::spawn_local(async {
            // Let the rest of the burst arrive.
            sleep(150).await;
            // Someone typing in one of the page's fields keeps what they typed: try later.
            while editing() {
                sleep(1_000).await;
            }
            PENDING.with(|p| p.set(false));
            refresh().await;
        });
    }

    /// Fetches the page again and swaps its `<main>` for the new one, then wakes the islands
    /// in it. Failures (offline, server restarting) leave the page as it is.
    pub async fn refresh() {
        if let Err(err) = try_refresh().await {
            leptos::logging::warn!("could not refresh the page: {err:?}");
        }
    }

    async fn try_refresh() -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        if REFRESHES.with(|n| n.replace(n.get() + 1)) >= RELOAD_AFTER {
            return window.location().reload();
        }
        let document = window.document().ok_or("no document")?;
        let init = web_sys::RequestInit::new();
        let headers = web_sys::Headers::new()?;
        headers.set("accept", "text/html")?;
        init.set_headers(&headers);
        let href = window.location().href()?;
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(&href, &init)).await?.dyn_into()?;
        if !response.ok() {
            return Err(format!("{} answered {}", href, response.status()).into());
        }
        let html = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
        let fresh = web_sys::DomParser::new()?.parse_from_string(&html, web_sys::SupportedType::TextHtml)?;
        let (Some(old_main), Some(new_main)) = (document.query_selector("main")?, fresh.query_selector("main")?) else {
            return Err("no <main> in the page".into());
        };
        old_main.replace_with_with_node_1(&new_main)?;
        if let Some(title) = fresh.query_selector("title")? {
            document.set_title(&title.text_content().unwrap_or_default());
        }
        hydrate_islands_in(&new_main)
    }

    /// Hands every island of the new content to Leptos' island loader (the function the
    /// islands script leaves on `window`), as that script does for the first page.
    fn hydrate_islands_in(root: &web_sys::Element) -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let hydrate: js_sys::Function = js_sys::Reflect::get(&window, &"__hydrateIsland".into())?.dyn_into()?;
        let islands = root.query_selector_all("leptos-island")?;
        for i in 0..islands.length() {
            let Some(island) = islands.item(i) else { continue };
            let Ok(island) = island.dyn_into::<web_sys::HtmlElement>() else { continue };
            let id = island.dataset().get("component").unwrap_or_default();
            hydrate.call2(&window, &island, &id.into())?;
        }
        Ok(())
    }

    /// A form field of the page has the focus.
    fn editing() -> bool {
        web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element()).is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                && el.closest("main").ok().flatten().is_some()
        })
    }

    async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}
