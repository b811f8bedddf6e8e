//! Unthread's web application: the pages, their components and the server functions they
//! call. Built twice: with `ssr` into the server binary, with `hydrate` into the browser's
//! WebAssembly bundle (the `frontend` crate). Leptos islands: pages are rendered on the server only, and the browser
//! bundle holds just the `#[island]` components (the live stream, claim/assign, triage,
//! creating an API token), which keeps it small; the other forms (posting the report, the
//! admin page's buttons, attaching links) are plain HTML forms posted to server functions.

pub mod components;
pub mod live;
pub mod pages;
pub mod shell;

#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod report;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;

pub use shell::{shell, App};
