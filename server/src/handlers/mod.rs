//! Plain axum handlers (everything that is not a Leptos page or server function).

pub mod api;
pub mod changes;
pub mod github_webhook;
pub mod health;
pub mod live;
pub mod openapi;
pub mod reports;
