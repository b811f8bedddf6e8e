//! Unthread's web application: the pages, their components and the server functions they
//! call. Built twice: with `ssr` into the server binary, with `hydrate` into the browser's
//! WebAssembly bundle.

pub mod components;
pub mod live;
pub mod pages;
pub mod progress;
pub mod shell;
pub mod types;

#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod models;
#[cfg(feature = "ssr")]
pub mod report;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;

pub use shell::{shell, App};

/// The browser entry point: attaches the event handlers to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
