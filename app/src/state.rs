//! What every request handler and server function can reach on the server.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// Which ways of signing in this server offers.
    pub sign_in: SignInOptions,
    /// Aggregates kept until the next announced change.
    pub cache: crate::cache::ReadCache,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SignInOptions {
    /// A GitHub OAuth app is configured.
    pub github: bool,
    /// `serve --dev-login`.
    pub dev_login: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
