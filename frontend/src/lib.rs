//! The browser entry point of Unthread (`scripts/build-site.sh` builds it to
//! `target/site/pkg/unthread_bg.wasm`). Pages are rendered on the server; this module holds
//! only the `#[island]` components of `app` and wakes each island the page contains.
#![cfg(target_arch = "wasm32")]

// The islands' exported constructors live in `app`; naming the crate links them in.
pub use app;

/// Run by the hydration script of every page, before its islands wake up.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
