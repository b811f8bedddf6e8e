//! Unthread's web application: the pages, their components and the server functions they
//! call. Built twice: with `ssr` into the server binary, with `hydrate` into the browser's
//! WebAssembly bundle.

pub mod components;
pub mod pages;
pub mod shell;

#[cfg(feature = "ssr")]
pub mod models;
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
