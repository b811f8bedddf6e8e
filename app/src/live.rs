//! Live updates: the server pushes every event (claims, triage, scans, syncs) over
//! server-sent events, fed by PostgreSQL `LISTEN/NOTIFY` so that all server processes
//! agree. Pages that show changing data read [`use_live_version`] in their resources and
//! fetch again when it moves. The browser's `EventSource` reconnects by itself after a
//! drop; each (re)connection counts as a change, so whatever was missed is fetched.

use leptos::prelude::*;

/// Where the stream is served.
pub const LIVE_PATH: &str = "/api/live";

#[derive(Clone, Copy)]
struct Live {
    version: ReadSignal<u64>,
    connected: ReadSignal<bool>,
    /// Changes made from this page (its own actions), counted apart from the stream.
    local: RwSignal<u64>,
}

/// Starts listening (in the browser only) and shares the counter with every page.
pub fn provide_live_updates() {
    let (version, set_version) = signal(0u64);
    let (connected, set_connected) = signal(false);
    #[cfg(feature = "hydrate")]
    connect(set_version, set_connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = (set_version, set_connected);
    provide_context(Live { version, connected, local: RwSignal::new(0) });
}

/// Bumped whenever something may have changed; 0 on the server.
pub fn use_live_version() -> u64 {
    use_context::<Live>().map(|live| live.version.get() + live.local.get()).unwrap_or(0)
}

/// Tells the page's data to refresh now (after one of its own actions), without waiting for
/// the stream.
pub fn touch() {
    if let Some(live) = use_context::<Live>() {
        live.local.update(|v| *v += 1);
    }
}

#[cfg(feature = "hydrate")]
fn connect(set_version: WriteSignal<u64>, set_connected: WriteSignal<bool>) {
    use wasm_bindgen::{closure::Closure, JsCast};
    let Ok(source) = web_sys::EventSource::new(LIVE_PATH) else { return };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| set_version.update(|v| *v += 1));
    let on_open = Closure::<dyn FnMut()>::new(move || {
        set_connected.set(true);
        set_version.update(|v| *v += 1);
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

/// A small "live" mark in the header: whether this page receives updates.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let connected = use_context::<Live>().map(|live| live.connected);
    let on = move || connected.map(|c| c.get()).unwrap_or(false);
    view! {
        <span
            data-testid="live-indicator"
            data-live=move || if on() { "open" } else { "closed" }
            class="text-xs text-slate-500 dark:text-slate-400"
            title="Claims and triage made elsewhere appear here without reloading"
        >
            {move || if on() { "● live" } else { "○ not live" }}
        </span>
    }
}
